#include "merc/models/hrg_ssa_samples.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "merc/core/error.h"

namespace merc::models::hrg_ssa {
namespace {

// A word-level stand-in tokenizer: each distinct white-space word gets the next id from 10 on;
// EOS (1) appended, as T5Tokenizer::encode does.
struct WordTokenizer {
  std::map<std::string, int64_t> ids;
  TokenIds operator()(const std::string& text) {
    TokenIds out;
    std::istringstream in(text);
    std::string w;
    while (in >> w) out.push_back(ids.emplace(w, 10 + static_cast<int64_t>(ids.size())).first->second);
    out.push_back(1);
    return out;
  }
  int64_t id(const std::string& w) const { return ids.at(w); }
};

TEST(HrgSsaSamples, PreviousItemsCarryTheLabelSentenceAfterTheCut) {
  WordTokenizer tok;
  SampleOptions o;
  o.history_label_cut = 11;
  const UtteranceTokens u = encode_utterance({"Joey", "hi there", "joy", "positive"}, o, std::ref(tok));
  // "Joey: hi there" = 3 words + EOS.
  ASSERT_EQ(u.item_current.size(), 4u);
  EXPECT_EQ(u.item_current.back(), 1);
  // The sentence has 23 words + EOS; "In the last round of the above dialogue, the speaker Joey's" are
  // words 0..10, so the kept tail starts at word 11, "emotion".
  ASSERT_EQ(u.label_sentence.size(), 24u);
  const TokenIds expected_tail(u.label_sentence.begin() + 11, u.label_sentence.end());
  ASSERT_EQ(u.item_previous.size(), 3u + expected_tail.size());
  EXPECT_EQ(TokenIds(u.item_previous.begin(), u.item_previous.begin() + 3),
            TokenIds(u.item_current.begin(), u.item_current.begin() + 3));  // no EOS in the middle
  EXPECT_EQ(TokenIds(u.item_previous.begin() + 3, u.item_previous.end()), expected_tail);
  EXPECT_EQ(u.item_previous[3], tok.id("emotion"));
  EXPECT_EQ(u.forecast_current, tok("Joey: undetermined & undetermined"));
  EXPECT_EQ(u.forecast_previous, tok("Joey: joy & positive"));
}

TEST(HrgSsaSamples, HistoryConcatenatesTheWindowAndKeepsTheMostRecentTokens) {
  WordTokenizer tok;
  SampleOptions o;
  o.window = 2;
  std::vector<UtteranceTokens> d;
  for (int i = 0; i < 4; ++i)
    d.push_back(encode_utterance({"A", "word" + std::to_string(i), "joy", "positive"}, o, std::ref(tok)));
  EXPECT_EQ(window_nodes(3, 2), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(window_nodes(0, 2), (std::vector<int64_t>{0}));
  TokenIds expected = d[1].item_previous;
  expected.insert(expected.end(), d[2].item_previous.begin(), d[2].item_previous.end());
  expected.insert(expected.end(), d[3].item_current.begin(), d[3].item_current.end());
  EXPECT_EQ(history_input(d, 3, o), expected);
  EXPECT_EQ(history_input(d, 0, o), d[0].item_current);
  o.max_history_tokens = 5;
  const TokenIds cut = history_input(d, 3, o);
  EXPECT_EQ(cut, TokenIds(expected.end() - 5, expected.end()));
  EXPECT_THROW(history_input(d, 4, o), Error);
}

TEST(HrgSsaSamples, GeneratedSentencesReplaceTheGoldOneInLaterItems) {
  const TokenIds item = {5, 6, 1};
  // Generated ids past the cut, EOS included; anything after EOS is dropped.
  EXPECT_EQ(item_with_generated_sentence(item, {9, 9, 7, 8, 1, 4}, 2, 1), (TokenIds{5, 6, 7, 8, 1}));
  // Cut at max length without EOS: EOS is appended (the release appends it too).
  EXPECT_EQ(item_with_generated_sentence(item, {9, 9, 7}, 2, 1), (TokenIds{5, 6, 7, 1}));
  // A sentence no longer than the cut (EOS included) leaves the item without its EOS, as resp[11:] does.
  EXPECT_EQ(item_with_generated_sentence(item, {9}, 2, 1), (TokenIds{5, 6}));
}

TEST(HrgSsaSamples, LabelCorpusHoldsTheSentencesTheModelWrites) {
  SampleOptions o;
  const std::vector<std::string> c = label_corpus({{"Joey", "hi", "joy", "positive"}}, o);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0], target_sentence("Joey", "joy", "positive", true, SpeakerTemplate::kNamed));
  EXPECT_EQ(c[1], "Joey: joy & positive");
  EXPECT_EQ(c[2], "Joey: undetermined & undetermined");
}

}  // namespace
}  // namespace merc::models::hrg_ssa
