#pragma once
// Split schemes beyond what a file gives: a validation partition carved deterministically from
// train when a dataset has none (model selection must never use the test split), and
// leave-one-group-out folds (IEMOCAP leave-one-session-out).

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "merc/data/dataset.h"

namespace merc::data {

// Deterministic uniform integer in [0, n) from a 64-bit stream (SplitMix64); our own generator so
// carved splits are identical on every platform and standard library.
class SplitRng {
 public:
  explicit SplitRng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  // The whole generator state; SplitRng(state()) continues the same stream (checkpoints).
  uint64_t state() const { return state_; }
  uint64_t below(uint64_t n);  // unbiased (rejection sampling)

 private:
  uint64_t state_;
};

// Fisher-Yates in place: for i = n-1 .. 1, swap v[i] with v[rng.below(i + 1)]. The one seeded
// shuffle of merc (validation carving, per-epoch training order), so a seed means the same order
// everywhere.
template <class T>
void shuffle_in_place(std::vector<T>& v, SplitRng& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

// True when the scheme has a validation partition ("valid", "dev" or "validation").
bool has_validation(const SplitScheme& scheme);
// The validation partition of a scheme, or nullptr.
const Partition* validation_partition(const SplitScheme& scheme);

// Moves round(fraction * |train|) dialogues (at least 1, at most |train| - 1), chosen by a seeded
// shuffle, from `train` to a new "valid" partition placed after train. Whole dialogues move, so
// no conversation is split across partitions. Throws merc::Error when train has < 2 dialogues.
SplitScheme carve_validation(const SplitScheme& scheme, double fraction, uint64_t seed);

// Applies carve_validation to every scheme of `dataset` that has no validation partition and a
// train partition; records what it did in dataset.warnings-free info notes. Returns how many
// schemes were changed.
int ensure_validation(Dataset& dataset, double fraction = 0.1, uint64_t seed = 0);

// One scheme per distinct group (in order of first appearance): test = that group's dialogues,
// train = all others. Names "<prefix>-1", "<prefix>-2", ...
std::vector<SplitScheme> leave_one_group_out(const Dataset& dataset,
                                             const std::function<std::string(const Dialogue&)>& group_of,
                                             const std::string& prefix);

// IEMOCAP leave-one-session-out: groups by the "SesNN" prefix of dialogue ids (e.g.
// "Ses01F_impro01" -> session 1), folds "loso-1".."loso-5". Throws merc::Error naming the first
// dialogue id without a session prefix.
std::vector<SplitScheme> leave_one_session_out(const Dataset& dataset);

}  // namespace merc::data
