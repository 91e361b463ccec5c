#include "merc/data/summary.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

namespace merc::data {

namespace {
PartitionCounts count_partition(const Dataset& ds, const Partition& p) {
  PartitionCounts c;
  c.name = p.name;
  c.class_counts.assign(ds.info.class_names.size(), 0);
  for (int64_t i : p.dialogues) {
    const Dialogue& d = ds.dialogues[static_cast<size_t>(i)];
    ++c.dialogues;
    c.utterances += d.length();
    for (const Utterance& u : d.utterances)
      if (u.label >= 0 && u.label < static_cast<int64_t>(c.class_counts.size())) ++c.class_counts[static_cast<size_t>(u.label)];
  }
  return c;
}
}  // namespace

// Named (not anonymous): the library is a unity build.
namespace summary_detail {
std::vector<SequenceStats> sequence_stats(const Dataset& ds) {
  std::vector<SequenceStats> out;
  if (!ds.info.has_sequences) return out;
  for (Modality m : kAllModalities) {
    if (!ds.info.has(m)) continue;
    SequenceStats st;
    st.modality = modality_name(m);
    int64_t total = 0, utterances = 0;
    for (const Dialogue& d : ds.dialogues) {
      const SequenceFeatures& s = d.sequences[static_cast<size_t>(index_of(m))];
      for (int64_t u = 0; u < s.num_utterances(); ++u) {
        const int64_t len = s.length(u);
        st.max = std::max(st.max, len);
        st.empty += len == 0 ? 1 : 0;
        total += len;
        ++utterances;
      }
    }
    if (utterances > 0) st.mean = static_cast<double>(total) / static_cast<double>(utterances);
    out.push_back(st);
  }
  return out;
}
}  // namespace summary_detail

DatasetSummary summarize(const Dataset& ds, const std::string& format) {
  DatasetSummary s;
  s.format = format.empty() ? ds.info.source_format : format;
  s.source_format = ds.info.source_format;
  s.name = ds.info.name;
  s.task = ds.info.task;
  s.num_dialogues = static_cast<int64_t>(ds.dialogues.size());
  s.num_utterances = ds.num_utterances();
  s.class_names = ds.info.class_names;
  s.class_counts.assign(s.class_names.size(), 0);
  s.num_speakers = ds.info.num_speakers;
  s.warnings = ds.warnings;
  s.notes = ds.info.notes;
  s.semantic_dim = ds.info.semantic_dim;
  s.semantic_source = ds.info.semantic_source;
  s.sequences = summary_detail::sequence_stats(ds);
  for (const SplitScheme& scheme : ds.split_schemes) {
    SchemeCounts sc;
    sc.name = scheme.name;
    for (const Partition& p : scheme.partitions) sc.partitions.push_back(count_partition(ds, p));
    s.schemes.push_back(std::move(sc));
  }
  for (Modality m : kAllModalities) {
    const auto k = static_cast<size_t>(index_of(m));
    if (ds.info.modality_dims[k] > 0) {
      s.modalities.emplace_back(modality_name(m), ds.info.modality_dims[k]);
      s.modality_sources.emplace_back(modality_name(m), ds.info.modality_sources[k]);
    }
  }

  std::set<std::string> names;
  double length_sum = 0.0, score_sum = 0.0;
  bool first = true;
  for (const Dialogue& d : ds.dialogues) {
    const int64_t L = d.length();
    s.dialogue_length.min = first ? L : std::min(s.dialogue_length.min, L);
    s.dialogue_length.max = first ? L : std::max(s.dialogue_length.max, L);
    first = false;
    length_sum += static_cast<double>(L);
    for (int64_t t = 0; t < L; ++t) {
      const Utterance& u = d.utterances[static_cast<size_t>(t)];
      names.insert(u.speaker_name);
      if (u.label < 0) ++s.unlabelled;
      else if (u.label < static_cast<int64_t>(s.class_counts.size())) ++s.class_counts[static_cast<size_t>(u.label)];
      if (!std::isnan(u.score)) {
        const double v = u.score;
        s.scores.min = s.scores.count ? std::min(s.scores.min, v) : v;
        s.scores.max = s.scores.count ? std::max(s.scores.max, v) : v;
        ++s.scores.count;
        score_sum += v;
        if (v == 0.0) ++s.scores.zeros;
      }
      for (Modality m : kAllModalities)
        if (ds.info.has(m) && !d.is_present(t, m)) ++s.missing_modality_entries;
    }
  }
  s.distinct_speaker_names = static_cast<int64_t>(names.size());
  if (s.num_dialogues > 0) s.dialogue_length.mean = length_sum / static_cast<double>(s.num_dialogues);
  if (s.scores.count > 0) s.scores.mean = score_sum / static_cast<double>(s.scores.count);
  return s;
}

nlohmann::ordered_json summary_to_json(const DatasetSummary& s) {
  using J = nlohmann::ordered_json;
  auto partitions_json = [&](const SchemeCounts& sc) {
    J parts = J::object();
    for (const PartitionCounts& p : sc.partitions) {
      J classes = J::object();
      for (size_t c = 0; c < s.class_names.size(); ++c) classes[s.class_names[c]] = p.class_counts[c];
      parts[p.name] = {{"dialogues", p.dialogues}, {"utterances", p.utterances}, {"classes", classes}};
    }
    return parts;
  };
  J j;
  j["format"] = s.format;
  j["source_format"] = s.source_format;
  j["name"] = s.name;
  j["task"] = task_name(s.task);
  j["num_dialogues"] = s.num_dialogues;
  j["num_utterances"] = s.num_utterances;
  j["default_split"] = s.schemes.empty() ? "" : s.schemes.front().name;
  j["splits"] = s.schemes.empty() ? J::object() : partitions_json(s.schemes.front());
  J schemes = J::object();
  for (const SchemeCounts& sc : s.schemes) schemes[sc.name] = partitions_json(sc);
  j["split_schemes"] = schemes;
  J classes = J::object();
  for (size_t c = 0; c < s.class_names.size(); ++c) classes[s.class_names[c]] = s.class_counts[c];
  j["classes"] = classes;
  j["unlabelled"] = s.unlabelled;
  J mods = J::object();
  for (const auto& [name, dim] : s.modalities) mods[name] = dim;
  j["modalities"] = mods;
  J sources = J::object();
  for (const auto& [name, src] : s.modality_sources) sources[name] = src;
  j["modality_sources"] = sources;
  j["missing_modality_entries"] = s.missing_modality_entries;
  j["speakers"] = {{"num_speakers", s.num_speakers}, {"distinct_names", s.distinct_speaker_names}};
  j["dialogue_length"] = {{"min", s.dialogue_length.min}, {"mean", s.dialogue_length.mean},
                          {"max", s.dialogue_length.max}};
  if (s.scores.count > 0)
    j["scores"] = {{"count", s.scores.count}, {"min", s.scores.min}, {"max", s.scores.max},
                   {"mean", s.scores.mean}, {"zeros", s.scores.zeros}};
  if (s.semantic_dim > 0) j["semantic"] = {{"dim", s.semantic_dim}, {"source", s.semantic_source}};
  if (!s.sequences.empty()) {
    J seq = J::object();
    for (const SequenceStats& st : s.sequences) seq[st.modality] = {{"max", st.max}, {"mean", st.mean}, {"empty", st.empty}};
    j["sequences"] = seq;
  }
  j["warnings"] = s.warnings;
  j["notes"] = s.notes;
  return j;
}

std::string summary_to_text(const DatasetSummary& s) {
  std::string out;
  auto line = [&out](const std::string& l) { out += l + "\n"; };
  line(fmt::format("dataset     {}", s.name.empty() ? "(unnamed)" : s.name));
  line(s.format == s.source_format ? fmt::format("format      {}", s.format)
                                    : fmt::format("format      {} (converted from {})", s.format, s.source_format));
  line(fmt::format("task        {}", task_name(s.task)));
  line(fmt::format("dialogues   {}    utterances {}", s.num_dialogues, s.num_utterances));
  line(fmt::format("length      min {}  mean {:.1f}  max {} utterances per dialogue", s.dialogue_length.min,
                   s.dialogue_length.mean, s.dialogue_length.max));
  for (size_t i = 0; i < s.schemes.size(); ++i) {
    const SchemeCounts& sc = s.schemes[i];
    line(fmt::format("split '{}'{}", sc.name, i == 0 ? " (default)" : ""));
    for (const PartitionCounts& p : sc.partitions)
      line(fmt::format("  {:<10} {:>6} dialogues {:>7} utterances", p.name, p.dialogues, p.utterances));
  }
  if (!s.class_names.empty()) {
    line(s.task == Task::kRegression ? "binary classes (from scores/labels)" : "classes");
    for (size_t c = 0; c < s.class_names.size(); ++c) {
      std::string per;
      if (!s.schemes.empty())
        for (const PartitionCounts& p : s.schemes.front().partitions)
          per += fmt::format("  {} {}", p.name, p.class_counts[c]);
      line(fmt::format("  {:>2} {:<14} {:>7}{}", c, s.class_names[c], s.class_counts[c], per));
    }
    if (s.unlabelled > 0) line(fmt::format("  unlabelled utterances: {}", s.unlabelled));
  }
  if (s.scores.count > 0)
    line(fmt::format("scores      {} utterances, min {:.3f}  mean {:.3f}  max {:.3f}, {} exactly zero",
                     s.scores.count, s.scores.min, s.scores.mean, s.scores.max, s.scores.zeros));
  line(fmt::format("speakers    {} party slot(s), {} distinct name(s)", s.num_speakers, s.distinct_speaker_names));
  if (s.modalities.empty()) {
    line("modalities  none (transcript-only; featurize with --featurize-text DIM)");
  } else {
    for (size_t i = 0; i < s.modalities.size(); ++i)
      line(fmt::format("modality    {:<7} dim {:>5}  {}", s.modalities[i].first, s.modalities[i].second,
                       s.modality_sources[i].second));
    if (s.missing_modality_entries > 0)
      line(fmt::format("            {} utterance-modality entries not observed in the source", s.missing_modality_entries));
  }
  if (s.semantic_dim > 0)
    line(fmt::format("semantic    dim {:>5}  {} (per-utterance semantic vectors)", s.semantic_dim, s.semantic_source));
  for (const SequenceStats& st : s.sequences)
    line(fmt::format("sequences   {:<7} max {:>4}  mean {:.1f} steps per utterance{}", st.modality, st.max, st.mean,
                     st.empty > 0 ? fmt::format(" ({} without a step)", st.empty) : std::string()));
  if (!s.notes.empty()) line("notes       " + s.notes);
  if (s.warnings.empty()) {
    line("warnings    none");
  } else {
    line(fmt::format("warnings    {}", s.warnings.size()));
    for (const auto& w : s.warnings) line("  - " + w);
  }
  return out;
}

}  // namespace merc::data
