#include "merc/data/splits.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>

#include "merc/core/error.h"

namespace merc::data {

uint64_t SplitRng::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t SplitRng::below(uint64_t n) {
  MERC_CHECK(n > 0, "SplitRng::below(0)");
  const uint64_t limit = ~uint64_t{0} - (~uint64_t{0} % n);  // reject the biased tail
  uint64_t x;
  do x = next(); while (x >= limit);
  return x % n;
}

const Partition* validation_partition(const SplitScheme& scheme) {
  for (const char* name : {"valid", "dev", "validation"})
    if (const Partition* p = scheme.find(name)) return p;
  return nullptr;
}

bool has_validation(const SplitScheme& scheme) { return validation_partition(scheme) != nullptr; }

SplitScheme carve_validation(const SplitScheme& scheme, double fraction, uint64_t seed) {
  MERC_CHECK(fraction > 0.0 && fraction < 1.0, "validation fraction must be in (0, 1), got {}", fraction);
  const Partition* train = scheme.find("train");
  MERC_CHECK(train != nullptr, "split scheme '{}' has no 'train' partition to carve a validation split from",
             scheme.name);
  const int64_t n = static_cast<int64_t>(train->dialogues.size());
  MERC_CHECK(n >= 2, "split scheme '{}': train has {} dialogue(s); need at least 2 to carve validation",
             scheme.name, n);
  int64_t k = static_cast<int64_t>(std::llround(fraction * static_cast<double>(n)));
  k = std::clamp<int64_t>(k, 1, n - 1);

  // Fisher-Yates over positions; the first k go to validation.
  std::vector<int64_t> order = train->dialogues;
  SplitRng rng(seed);
  shuffle_in_place(order, rng);
  std::vector<int64_t> valid(order.begin(), order.begin() + k);
  std::vector<int64_t> rest(order.begin() + k, order.end());
  // Keep the source order inside each partition (stable, readable splits).
  std::sort(valid.begin(), valid.end());
  std::sort(rest.begin(), rest.end());

  SplitScheme out;
  out.name = scheme.name;
  for (const Partition& p : scheme.partitions) {
    if (&p == train) {
      out.partitions.push_back({"train", rest});
      out.partitions.push_back({"valid", valid});
    } else {
      out.partitions.push_back(p);
    }
  }
  return out;
}

int ensure_validation(Dataset& dataset, double fraction, uint64_t seed) {
  int changed = 0;
  for (SplitScheme& s : dataset.split_schemes) {
    if (has_validation(s) || !s.find("train") || s.find("train")->dialogues.size() < 2) continue;
    s = carve_validation(s, fraction, seed);
    ++changed;
    dataset.info.notes += fmt::format("{}split '{}': validation carved from train ({} of dialogues, seed {})",
                                      dataset.info.notes.empty() ? "" : "; ", s.name, fraction, seed);
  }
  return changed;
}

std::vector<SplitScheme> leave_one_group_out(const Dataset& dataset,
                                             const std::function<std::string(const Dialogue&)>& group_of,
                                             const std::string& prefix) {
  std::vector<std::string> groups;
  std::vector<size_t> group_index(dataset.dialogues.size());
  for (size_t i = 0; i < dataset.dialogues.size(); ++i) {
    const std::string g = group_of(dataset.dialogues[i]);
    auto it = std::find(groups.begin(), groups.end(), g);
    group_index[i] = static_cast<size_t>(it - groups.begin());
    if (it == groups.end()) groups.push_back(g);
  }
  MERC_CHECK(groups.size() >= 2, "leave-one-group-out needs at least 2 groups, found {}", groups.size());
  std::vector<SplitScheme> folds;
  for (size_t g = 0; g < groups.size(); ++g) {
    SplitScheme s;
    s.name = fmt::format("{}-{}", prefix, g + 1);
    Partition train{"train", {}}, test{"test", {}};
    for (size_t i = 0; i < dataset.dialogues.size(); ++i)
      (group_index[i] == g ? test : train).dialogues.push_back(static_cast<int64_t>(i));
    s.partitions = {train, test};
    folds.push_back(std::move(s));
  }
  return folds;
}

std::vector<SplitScheme> leave_one_session_out(const Dataset& dataset) {
  static const std::regex kSession("^Ses\\d\\d");
  for (const Dialogue& d : dataset.dialogues)
    if (!std::regex_search(d.id, kSession))
      throw Error(fmt::format("leave-one-session-out: dialogue id '{}' has no IEMOCAP session prefix 'SesNN'", d.id));
  // Folds are numbered by session (loso-1 = Session 1 held out), whatever the dialogue order.
  auto folds = leave_one_group_out(
      dataset, [](const Dialogue& d) { return d.id.substr(3, 2); }, "loso");
  std::map<std::string, SplitScheme> by_session;
  for (auto& f : folds) {
    const auto& test = f.partitions[1].dialogues;
    const std::string sess = dataset.dialogues[static_cast<size_t>(test.front())].id.substr(3, 2);
    f.name = "loso-" + std::to_string(std::stoi(sess));
    by_session[sess] = std::move(f);
  }
  std::vector<SplitScheme> out;
  for (auto& [sess, f] : by_session) out.push_back(std::move(f));
  return out;
}

}  // namespace merc::data
