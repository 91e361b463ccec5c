#include "merc/app/data_cmd.h"

#include <ostream>

#include "merc/app/default_dataset.h"
#include "merc/core/error.h"
#include "merc/data/summary.h"

namespace merc::app {

data::ReadOptions read_options(const DataSource& source) {
  data::ReadOptions opts;
  opts.format = source.format;
  for (const std::string& spec : source.features) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      throw Error(fmt::format("--features expects MODALITY=DIR (e.g. audio=feats/wav2vec), got '{}'", spec));
    const auto m = data::parse_modality(spec.substr(0, eq));
    if (!m) throw Error(fmt::format("--features: unknown modality '{}' (valid: text, audio, visual)", spec.substr(0, eq)));
    opts.feature_dirs[*m] = spec.substr(eq + 1);
  }
  return opts;
}

data::Dataset load_dataset(const DataSource& source) {
  const std::filesystem::path path = source.path.empty() ? default_dataset_path() : std::filesystem::path(source.path);
  return data::read_dataset(path, read_options(source));
}

int run_data_inspect(const DataInspectArgs& args, std::ostream& out) {
  const data::Dataset ds = load_dataset(args.source);
  const data::DatasetSummary summary = data::summarize(ds);
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

}  // namespace merc::app
