#include "merc/app/data_cmd.h"

#include <ostream>

#include "merc/app/default_dataset.h"
#include "merc/core/error.h"
#include "merc/core/log.h"
#include "merc/data/dataset_file.h"
#include "merc/data/splits.h"
#include "merc/data/summary.h"
#include "merc/data/text_featurizer.h"

namespace merc::app {

data::ReadOptions read_options(const DataSource& source) {
  data::ReadOptions opts;
  opts.format = source.format;
  opts.keep_sequences = source.sequences;
  for (const std::string& spec : source.features) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      throw Error(fmt::format("--features / data.features expects MODALITY=DIR or semantic=DIR (e.g. "
                              "audio=feats/wav2vec), got '{}'", spec));
    const std::string key = spec.substr(0, eq), dir = spec.substr(eq + 1);
    if (key == kSemanticFeatureKey) {
      MERC_CHECK(opts.semantic_dir.empty(), "--features / data.features names semantic=DIR twice ('{}' and '{}')",
                 opts.semantic_dir.string(), dir);
      opts.semantic_dir = dir;
      continue;
    }
    const auto m = data::parse_modality(key);
    if (!m)
      throw Error(fmt::format("--features / data.features: unknown modality '{}' in '{}' (valid: text, audio, visual "
                              "(or t, a, v, video) for feature folders, {} for semantic vectors)",
                              key, spec, kSemanticFeatureKey));
    opts.feature_dirs[*m] = dir;
  }
  return opts;
}

data::Dataset load_dataset(const DataSource& source, std::string* format_used) {
  const std::filesystem::path path = source.path.empty() ? default_dataset_path() : std::filesystem::path(source.path);
  data::Dataset ds = data::read_dataset(path, read_options(source), format_used);
  if (source.carve_valid > 0.0) data::ensure_validation(ds, source.carve_valid, source.split_seed);
  if (source.loso)
    for (auto& fold : data::leave_one_session_out(ds)) ds.split_schemes.push_back(std::move(fold));
  return ds;
}

int run_data_inspect(const DataInspectArgs& args, std::ostream& out) {
  std::string format;
  const data::Dataset ds = load_dataset(args.source, &format);
  const data::DatasetSummary summary = data::summarize(ds, format);
  if (args.json) {
    out << data::summary_to_json(summary).dump(2) << "\n";
  } else {
    out << data::summary_to_text(summary);
  }
  return 0;
}

int run_data_list_formats(std::ostream& out) {
  for (const auto& r : data::format_readers()) out << fmt::format("{:<22} {}\n", r.name, r.description);
  return 0;
}

std::string featurizer_state_path(const std::string& dataset_path) {
  std::filesystem::path p(dataset_path);
  std::filesystem::path stem = p.extension() == ".safetensors" ? p.stem() : p.filename();
  return (p.parent_path() / (stem.string() + ".text_featurizer.safetensors")).string();
}

int run_data_convert(const DataConvertArgs& args, std::ostream& out) {
  data::Dataset ds = load_dataset(args.source);
  if (args.featurize_text > 0) {
    if (ds.info.has(data::Modality::kText))
      spdlog::warn("{}: replacing the dataset's own {}-d text features with transcript features", args.source.path,
                   ds.info.modality_dims[0]);
    data::TextFeaturizerOptions opts;
    opts.dim = args.featurize_text;
    opts.seed = args.seed;
    // Clear the old text features first: featurize_dataset_text sets every dialogue's text matrix.
    ds.info.modality_dims[0] = 0;
    for (auto& d : ds.dialogues) d.features[0] = data::FeatureMatrix();
    if (ds.info.has_sequences) {
      // Sequences exist for every modality or none (Dataset::validate), and the source's text
      // steps would not match the featurized text.
      spdlog::warn("{}: dropping the per-utterance sequences: --featurize-text replaces the text they belong to",
                   args.source.path);
      ds.info.has_sequences = false;
      for (auto& d : ds.dialogues) d.sequences = {};
    }
    const data::TextFeaturizer f = data::fit_on_partition(ds, opts, "train");
    const std::string state = featurizer_state_path(args.output);
    f.save(state);
    out << fmt::format("text featurizer: fitted on the train split ({} utterances), {} dims, keeps {:.1f}% of "
                       "the TF-IDF energy; state saved to {}\n",
                       f.num_train_documents(), f.dim(), 100.0 * f.explained_variance_ratio(), state);
  }
  data::write_dataset_file(ds, args.output);
  out << fmt::format("wrote {} ({} dialogues, {} utterances, format {})\n", args.output, ds.dialogues.size(),
                     ds.num_utterances(), ds.info.source_format);
  return 0;
}

}  // namespace merc::app
