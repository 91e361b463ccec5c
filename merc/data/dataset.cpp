#include "merc/data/dataset.h"

#include <set>
#include <unordered_set>

#include "merc/core/error.h"
#include "merc/core/log.h"

namespace merc::data {

const char* modality_name(Modality m) {
  switch (m) {
    case Modality::kText: return "text";
    case Modality::kAudio: return "audio";
    case Modality::kVisual: return "visual";
  }
  return "?";
}

std::optional<Modality> parse_modality(std::string_view name) {
  if (name == "text" || name == "t") return Modality::kText;
  if (name == "audio" || name == "a") return Modality::kAudio;
  if (name == "visual" || name == "video" || name == "v") return Modality::kVisual;
  return std::nullopt;
}

const char* task_name(Task t) { return t == Task::kClassification ? "classification" : "regression"; }

const Partition* SplitScheme::find(std::string_view partition) const {
  for (const auto& p : partitions)
    if (p.name == partition) return &p;
  return nullptr;
}

int64_t Dataset::num_utterances() const {
  int64_t n = 0;
  for (const auto& d : dialogues) n += d.length();
  return n;
}

const SplitScheme& Dataset::scheme(std::string_view name) const {
  if (split_schemes.empty()) throw Error("dataset '" + info.name + "' has no split schemes");
  if (name.empty()) return split_schemes.front();
  std::string valid;
  for (const auto& s : split_schemes) {
    if (s.name == name) return s;
    valid += (valid.empty() ? "" : ", ") + s.name;
  }
  throw UnknownNameError(fmt::format("unknown split scheme '{}' for dataset '{}'; valid: {}", name,
                                     info.name, valid));
}

std::vector<const Dialogue*> Dataset::partition(std::string_view partition, std::string_view scheme_name) const {
  const SplitScheme& s = scheme(scheme_name);
  const Partition* p = s.find(partition);
  if (!p) {
    std::string valid;
    for (const auto& q : s.partitions) valid += (valid.empty() ? "" : ", ") + q.name;
    throw UnknownNameError(fmt::format("split scheme '{}' has no partition '{}'; valid: {}", s.name,
                                       partition, valid));
  }
  std::vector<const Dialogue*> out;
  out.reserve(p->dialogues.size());
  for (int64_t i : p->dialogues) out.push_back(&dialogues[static_cast<size_t>(i)]);
  return out;
}

// Named (not anonymous): the library is a unity build.
namespace dataset_detail {
void validate_semantic(const DatasetInfo& info, const Dialogue& d, const std::string& source) {
  const int64_t L = d.length(), K = info.semantic_dim;
  if (K == 0) {
    if (!d.semantic.empty())
      MERC_FORMAT_ERROR(source, "dialogue '{}' has semantic vectors but the dataset declares none (semantic_dim 0)",
                        d.id);
    return;
  }
  if (d.semantic.rows != L || d.semantic.cols != K || static_cast<int64_t>(d.semantic.values.size()) != L * K)
    MERC_FORMAT_ERROR(source, "dialogue '{}': semantic vectors are {}x{} but {} utterances of dim {} were expected",
                      d.id, d.semantic.rows, d.semantic.cols, L, K);
}

// One modality's sequence store of dialogue `d` against the dataset's facts (see Dialogue::sequences).
void validate_sequence(const DatasetInfo& info, const Dialogue& d, Modality m, const std::string& source) {
  const SequenceFeatures& s = d.sequences[static_cast<size_t>(index_of(m))];
  const int64_t dim = info.modality_dims[static_cast<size_t>(index_of(m))];
  const char* name = modality_name(m);
  if (!info.has_sequences || dim == 0) {
    if (!s.empty())
      MERC_FORMAT_ERROR(source, "dialogue '{}' has {} sequences but the dataset declares none ({})", d.id, name,
                        info.has_sequences ? "it has no such modality" : "has_sequences is false");
    return;
  }
  if (s.empty())
    MERC_FORMAT_ERROR(source, "dialogue '{}' has no {} sequences but the dataset declares sequences", d.id, name);
  if (s.dim != dim)
    MERC_FORMAT_ERROR(source, "dialogue '{}': {} sequences have dim {} but the modality has dim {}", d.id, name, s.dim,
                      dim);
  if (static_cast<int64_t>(s.offsets.size()) != d.length() + 1)
    MERC_FORMAT_ERROR(source, "dialogue '{}': {} sequence offsets have {} entries, expected {} (utterances + 1)", d.id,
                      name, s.offsets.size(), d.length() + 1);
  if (s.offsets.front() != 0)
    MERC_FORMAT_ERROR(source, "dialogue '{}': {} sequence offsets start at {}, expected 0", d.id, name, s.offsets.front());
  for (size_t i = 1; i < s.offsets.size(); ++i)
    if (s.offsets[i] < s.offsets[i - 1])
      MERC_FORMAT_ERROR(source, "dialogue '{}': {} sequence offsets decrease at entry {} ({} after {})", d.id, name, i,
                        s.offsets[i], s.offsets[i - 1]);
  // Division, not offsets.back() * dim: a corrupt offset must not overflow the check.
  const auto n = static_cast<int64_t>(s.values.size());
  if (n % dim != 0 || n / dim != s.offsets.back())
    MERC_FORMAT_ERROR(source, "dialogue '{}': {} sequences hold {} floats but the offsets describe {} steps of dim {}",
                      d.id, name, n, s.offsets.back(), dim);
}
}  // namespace dataset_detail

void Dataset::validate(const std::string& source) const {
  // Sanity bounds: a hostile file could declare a huge dim for an empty dataset, which downstream
  // code (collate, models) would then try to allocate. Real data: dims <= 4096, <= 9 speakers.
  constexpr int64_t kMaxDim = int64_t{1} << 24, kMaxSpeakers = int64_t{1} << 20;
  if (info.num_speakers < 1 || info.num_speakers > kMaxSpeakers)
    MERC_FORMAT_ERROR(source, "number of speakers {} outside 1..{}", info.num_speakers, kMaxSpeakers);
  for (int m = 0; m < kNumModalities; ++m)
    if (info.modality_dims[static_cast<size_t>(m)] < 0 || info.modality_dims[static_cast<size_t>(m)] > kMaxDim)
      MERC_FORMAT_ERROR(source, "{} feature dim {} outside 0..{}", modality_name(static_cast<Modality>(m)),
                        info.modality_dims[static_cast<size_t>(m)], kMaxDim);
  if (info.semantic_dim < 0 || info.semantic_dim > kMaxDim)
    MERC_FORMAT_ERROR(source, "semantic vector dim {} outside 0..{}", info.semantic_dim, kMaxDim);
  std::unordered_set<std::string> ids;
  for (const auto& d : dialogues) {
    if (!ids.insert(d.id).second) MERC_FORMAT_ERROR(source, "dialogue id '{}' occurs twice", d.id);
    const int64_t L = d.length();
    for (int m = 0; m < kNumModalities; ++m) {
      const auto& f = d.features[static_cast<size_t>(m)];
      const int64_t dim = info.modality_dims[static_cast<size_t>(m)];
      if (dim == 0) {
        if (!f.empty())
          MERC_FORMAT_ERROR(source, "dialogue '{}' has {} features but the dataset has no {} modality",
                            d.id, modality_name(static_cast<Modality>(m)), modality_name(static_cast<Modality>(m)));
        continue;
      }
      if (f.rows != L || f.cols != dim || static_cast<int64_t>(f.values.size()) != L * dim)
        MERC_FORMAT_ERROR(source, "dialogue '{}': {} features are {}x{} but {} utterances of dim {} were expected",
                          d.id, modality_name(static_cast<Modality>(m)), f.rows, f.cols, L, dim);
    }
    dataset_detail::validate_semantic(info, d, source);
    for (Modality m : kAllModalities) dataset_detail::validate_sequence(info, d, m, source);
    if (!d.present.empty() && static_cast<int64_t>(d.present.size()) != L * kNumModalities)
      MERC_FORMAT_ERROR(source, "dialogue '{}': presence mask has {} entries, expected {}", d.id,
                        d.present.size(), L * kNumModalities);
    for (const auto& u : d.utterances) {
      if (u.label < -1 || (u.label >= 0 && u.label >= info.num_classes()))
        MERC_FORMAT_ERROR(source, "dialogue '{}' utterance '{}': label {} outside 0..{}", d.id, u.id,
                          u.label, info.num_classes() - 1);
      if (u.speaker < 0 || u.speaker >= info.num_speakers)
        MERC_FORMAT_ERROR(source, "dialogue '{}' utterance '{}': speaker index {} outside 0..{}", d.id,
                          u.id, u.speaker, info.num_speakers - 1);
    }
  }
  const int64_t n = static_cast<int64_t>(dialogues.size());
  for (const auto& s : split_schemes) {
    std::set<int64_t> seen;
    for (const auto& p : s.partitions) {
      for (int64_t i : p.dialogues) {
        if (i < 0 || i >= n)
          MERC_FORMAT_ERROR(source, "split '{}/{}' refers to dialogue #{} of {}", s.name, p.name, i, n);
        if (!seen.insert(i).second)
          MERC_FORMAT_ERROR(source, "split scheme '{}': dialogue '{}' is in two partitions", s.name,
                            dialogues[static_cast<size_t>(i)].id);
      }
    }
  }
}

void add_warning(Dataset& dataset, std::string w) {
  spdlog::warn("{}", w);
  dataset.warnings.push_back(std::move(w));
}

}  // namespace merc::data
