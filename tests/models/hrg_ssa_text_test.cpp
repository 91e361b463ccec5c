#include "merc/models/hrg_ssa_text.h"

#include <gtest/gtest.h>

#include "merc/core/error.h"

namespace merc::models::hrg_ssa {
namespace {

// The release's MELD sentence (preprocess.py get_label, emotion_first), written out by hand.
TEST(HrgSsaText, TargetSentenceMatchesTheReleaseTemplates) {
  EXPECT_EQ(target_sentence("Joey", "joy", "positive", true, SpeakerTemplate::kNamed),
            "In the last round of the above dialogue, the speaker Joey's emotion is <bos_emotion> joy "
            "<eos_emotion>, and the sentiment is <bos_sentiment> positive <eos_sentiment>.");
  EXPECT_EQ(target_sentence("Joey", "joy", "positive", false, SpeakerTemplate::kNamed),
            "In the last round of the above dialogue, the speaker Joey's sentiment is <bos_sentiment> positive "
            "<eos_sentiment>, and the emotion is <bos_emotion> joy <eos_emotion>.");
  // IEMOCAP's template names the gender (preprocess.py IEMOCAP get_label).
  EXPECT_EQ(target_sentence("F", "anger", "negative", true, SpeakerTemplate::kGender),
            "In the last round of the above dialogue, the female speaker's emotion is <bos_emotion> anger "
            "<eos_emotion>, and the sentiment is <bos_sentiment> negative <eos_sentiment>.");
  EXPECT_EQ(utterance_item("Ross", "Hi."), "Ross: Hi.");
  EXPECT_EQ(utterance_item("", "it was fine"), "speaker: it was fine");  // MOSI has no names
  EXPECT_EQ(emotion_forecast("M", "undetermined", "undetermined"), "M: undetermined & undetermined");
}

TEST(HrgSsaText, LabelWordsComeFromClassNamesAndTheSentimentMap) {
  const LabelWords w = make_label_words({"Neutral", "Joy", "Very Sad"}, {}, {1, 2, -1});
  EXPECT_EQ(w.emotion, (std::vector<std::string>{"neutral", "joy", "very_sad"}));
  EXPECT_EQ(w.sentiment, (std::vector<std::string>{"neutral", "positive", "undetermined"}));
  const LabelWords own = make_label_words({"hap", "sad"}, {"happiness", "sadness"}, {});
  EXPECT_EQ(own.emotion, (std::vector<std::string>{"happiness", "sadness"}));
  EXPECT_EQ(own.sentiment, (std::vector<std::string>{"undetermined", "undetermined"}));
}

TEST(HrgSsaText, BadLabelWordConfigsAreNamedErrors) {
  EXPECT_THROW(make_label_words({"a", "b"}, {"x"}, {}), Error);         // wrong count
  EXPECT_THROW(make_label_words({"a", "b"}, {"x", "x"}, {}), Error);    // duplicate
  EXPECT_THROW(make_label_words({"a", "b"}, {"x y", "z"}, {}), Error);  // two words
  EXPECT_THROW(make_label_words({"a", "b"}, {}, {0, 3}), Error);        // outside [-1, 2]
  EXPECT_THROW(make_label_words({"a", "b"}, {}, {0}), Error);           // wrong count
  EXPECT_THROW(make_label_words({"a"}, {}, {}), Error);                 // one class
  EXPECT_THROW(parse_speaker_template("both"), Error);
  EXPECT_EQ(parse_speaker_template("gender"), SpeakerTemplate::kGender);
}

TEST(HrgSsaText, ParseReadsTheWordAfterTheEmotionMarker) {
  const LabelWords w = make_label_words({"neutral", "joy", "anger"}, {}, {});
  const std::string sentence = target_sentence("Joey", "anger", "negative", true, SpeakerTemplate::kNamed);
  EXPECT_EQ(parse_emotion(sentence, w), 2);
  EXPECT_EQ(parse_emotion(target_sentence("Joey", "joy", "positive", false, SpeakerTemplate::kNamed), w), 1);
  EXPECT_EQ(parse_emotion("the emotion is <bos_emotion>joy<eos_emotion>", w), 1);      // glued markers
  EXPECT_EQ(parse_emotion("the emotion is joy", w), std::nullopt);                     // no marker
  EXPECT_EQ(parse_emotion("<bos_emotion> happiness <eos_emotion>", w), std::nullopt);  // no class's word
  EXPECT_EQ(parse_emotion("<bos_emotion>", w), std::nullopt);                          // nothing after it
}

TEST(HrgSsaText, SpecialTokensAreTheReleasesTenInOrder) {
  ASSERT_EQ(special_tokens().size(), 10u);
  EXPECT_EQ(special_tokens().front(), "<bos_emotion>");
  EXPECT_EQ(special_tokens().back(), "<bos_resp>");
}

}  // namespace
}  // namespace merc::models::hrg_ssa
