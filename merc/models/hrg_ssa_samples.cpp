#include "merc/models/hrg_ssa_samples.h"

#include <algorithm>

#include "merc/core/error.h"

namespace merc::models::hrg_ssa {

namespace samples_detail {

// ids[:-1] + tail[cut:] (tail past its first `cut` tokens; nothing when shorter).
TokenIds join_cut(const TokenIds& ids, const TokenIds& tail, int64_t cut) {
  TokenIds out(ids.begin(), ids.empty() ? ids.end() : ids.end() - 1);
  if (static_cast<int64_t>(tail.size()) > cut) out.insert(out.end(), tail.begin() + cut, tail.end());
  return out;
}

}  // namespace samples_detail

UtteranceTokens encode_utterance(const TurnText& turn, const SampleOptions& options, const Encode& encode) {
  MERC_CHECK(options.history_label_cut >= 0, "model.history_label_cut must be >= 0, got {}", options.history_label_cut);
  UtteranceTokens u;
  u.item_current = encode(utterance_item(turn.speaker, turn.transcript));
  MERC_CHECK(!u.item_current.empty(),
             "hrg_ssa: the tokenizer returned no ids for an utterance (expected EOS at least)");
  u.label_sentence = encode(
      target_sentence(turn.speaker, turn.emotion, turn.sentiment, options.emotion_first, options.speaker_template));
  u.item_previous = samples_detail::join_cut(u.item_current, u.label_sentence, options.history_label_cut);
  u.forecast_current = encode(emotion_forecast(turn.speaker, kUndetermined, kUndetermined));
  u.forecast_previous = encode(emotion_forecast(turn.speaker, turn.emotion, turn.sentiment));
  return u;
}

std::vector<int64_t> window_nodes(int64_t t, int64_t window) {
  MERC_CHECK(t >= 0 && window >= 0, "window_nodes: t {} and window {} must be >= 0", t, window);
  std::vector<int64_t> nodes;
  for (int64_t j = std::max<int64_t>(0, t - window); j <= t; ++j) nodes.push_back(j);
  return nodes;
}

TokenIds history_input(const std::vector<UtteranceTokens>& dialogue, int64_t t, const SampleOptions& options) {
  MERC_CHECK(t >= 0 && t < static_cast<int64_t>(dialogue.size()), "history_input: turn {} of a {}-turn dialogue", t,
             dialogue.size());
  MERC_CHECK(options.max_history_tokens >= 1, "model.max_history_tokens must be >= 1, got {}",
             options.max_history_tokens);
  TokenIds ids;
  for (int64_t j : window_nodes(t, options.window)) {
    const TokenIds& item =
        j < t ? dialogue[static_cast<size_t>(j)].item_previous : dialogue[static_cast<size_t>(j)].item_current;
    ids.insert(ids.end(), item.begin(), item.end());
  }
  if (static_cast<int64_t>(ids.size()) > options.max_history_tokens)
    ids.erase(ids.begin(), ids.end() - options.max_history_tokens);  // keep the most recent tokens
  return ids;
}

std::vector<std::string> label_corpus(const std::vector<TurnText>& turns, const SampleOptions& options) {
  std::vector<std::string> out;
  for (const TurnText& t : turns) {
    out.push_back(target_sentence(t.speaker, t.emotion, t.sentiment, options.emotion_first, options.speaker_template));
    out.push_back(emotion_forecast(t.speaker, t.emotion, t.sentiment));
    out.push_back(emotion_forecast(t.speaker, kUndetermined, kUndetermined));
  }
  return out;
}

TokenIds item_with_generated_sentence(const TokenIds& item_current, const TokenIds& generated, int64_t cut,
                                      int64_t eos_id) {
  TokenIds sentence = generated;
  const auto eos = std::find(sentence.begin(), sentence.end(), eos_id);
  if (eos == sentence.end()) {
    sentence.push_back(eos_id);
  } else {
    sentence.erase(eos + 1, sentence.end());
  }
  return samples_detail::join_cut(item_current, sentence, cut);
}

}  // namespace merc::models::hrg_ssa
