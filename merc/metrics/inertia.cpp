#include "merc/metrics/inertia.h"

#include <map>
#include <set>

#include "merc/core/error.h"

namespace merc::metrics {

std::vector<bool> emotional_inertia(const std::vector<InertiaUtterance>& utterances) {
  std::vector<bool> flags(utterances.size(), false);
  std::set<std::string> finished;       // dialogues already left
  std::map<int64_t, int64_t> previous;  // speaker -> label of their last utterance in this dialogue
  const std::string* current = nullptr;
  for (size_t i = 0; i < utterances.size(); ++i) {
    const InertiaUtterance& u = utterances[i];
    if (current == nullptr || u.dialogue_id != *current) {
      if (current != nullptr) finished.insert(*current);
      MERC_CHECK(finished.count(u.dialogue_id) == 0,
                 "emotional inertia: dialogue '{}' appears again at utterance {} after other dialogues (utterances "
                 "must be grouped by dialogue)",
                 u.dialogue_id, i);
      current = &u.dialogue_id;
      previous.clear();
    }
    const auto it = previous.find(u.speaker);
    flags[i] = it != previous.end() && u.label >= 0 && it->second >= 0 && it->second == u.label;
    previous[u.speaker] = u.label;
  }
  return flags;
}

}  // namespace merc::metrics
