#include "merc/data/readers/cosmic.h"

#include <gtest/gtest.h>

#include "imer_test_util.h"
#include "merc/data/readers/registry.h"

namespace merc::data {
namespace {

using testing::dialogue_by_id;
using testing::dialogue_ids;
using testing::expect_format_error;
using testing::imer_fixture;
using testing::row_of;

const std::vector<std::string> kEmory = {"Joyful", "Mad", "Peaceful", "Neutral", "Sad", "Powerful", "Scared"};

TEST(Cosmic, EmorynlpRobertaLayersConcatenated) {
  const Dataset ds = read_dataset(imer_fixture("cosmic/emorynlp_features_roberta.pkl"));
  EXPECT_EQ(ds.info.source_format, "cosmic-emorynlp");
  EXPECT_EQ(ds.info.name, "EmoryNLP");
  EXPECT_EQ(ds.info.class_names, kEmory);
  EXPECT_EQ(ds.info.num_speakers, 9);
  EXPECT_EQ(ds.info.modality_dims, (std::array<int64_t, 3>{32, 0, 0}));  // 4 layers x 8
  EXPECT_EQ(ds.scheme().name, "given");
  EXPECT_EQ(dialogue_ids(ds, "train"), (std::vector<std::string>{"1_1_1"}));
  EXPECT_EQ(dialogue_ids(ds, "valid"), (std::vector<std::string>{"1_2_1"}));
  EXPECT_EQ(dialogue_ids(ds, "test"), (std::vector<std::string>{"2_1_1"}));
  const Dialogue& d = dialogue_by_id(ds, "1_1_1");
  ASSERT_EQ(d.length(), 3);
  EXPECT_EQ(d.utterances[2].id, "1_1_1_2");
  EXPECT_EQ(d.utterances[1].label, 3);
  EXPECT_EQ(d.utterances[2].label, 6);
  EXPECT_EQ(d.utterances[1].speaker, 1);  // one-hot slot
  EXPECT_EQ(d.utterances[2].speaker, 0);
  EXPECT_EQ(d.utterances[1].transcript, "Hi there.");
  // Fixture value of layer k, scene #s, utterance u, column j = 1000k + 100s + 10u + j; the
  // layers are stored side by side in the order roberta1..roberta4.
  const Dialogue& v = dialogue_by_id(ds, "1_2_1");  // scene #1
  const std::vector<float> row = row_of(v, Modality::kText, 1);
  ASSERT_EQ(row.size(), 32u);
  for (int k = 1; k <= 4; ++k)
    for (int j = 0; j < 8; ++j) EXPECT_EQ(row[static_cast<size_t>((k - 1) * 8 + j)], 1000.0f * k + 110.0f + j);
  EXPECT_EQ(dialogue_by_id(ds, "2_1_1").utterances[0].label, 5);
}

TEST(Cosmic, TranscriptPickles) {
  const Dataset emory = read_dataset(imer_fixture("cosmic/emorynlp.pkl"));
  EXPECT_EQ(emory.info.source_format, "cosmic-text-emorynlp");
  EXPECT_EQ(emory.info.modality_dims, (std::array<int64_t, 3>{0, 0, 0}));
  EXPECT_EQ(emory.num_utterances(), 7);
  EXPECT_EQ(dialogue_by_id(emory, "2_1_1").utterances[0].speaker, 1);

  const Dataset iemocap = read_dataset(imer_fixture("cosmic/iemocap.pkl"));
  EXPECT_EQ(iemocap.info.source_format, "cosmic-text-iemocap");
  EXPECT_EQ(iemocap.info.num_classes(), 6);
  EXPECT_EQ(iemocap.info.num_speakers, 2);
  EXPECT_EQ(dialogue_ids(iemocap, "train"), (std::vector<std::string>{"Ses02F_script01_3"}));
  EXPECT_EQ(dialogue_ids(iemocap, "valid"), (std::vector<std::string>{"Ses04F_script02_1"}));
  EXPECT_EQ(dialogue_ids(iemocap, "test"), (std::vector<std::string>{"Ses05M_impro03"}));
  const Dialogue& d = dialogue_by_id(iemocap, "Ses02F_script01_3");
  EXPECT_EQ(d.utterances[0].speaker, 0);  // COSMIC: 'M' -> [1, 0]
  EXPECT_EQ(d.utterances[1].speaker, 1);
  EXPECT_EQ(d.utterances[1].speaker_name, "F");
  EXPECT_EQ(d.utterances[2].label, 4);
  EXPECT_EQ(d.utterances[2].transcript, "line 2");

  const Dataset meld = read_dataset(imer_fixture("cosmic/meld.pkl"));
  EXPECT_EQ(meld.info.source_format, "cosmic-text-meld");
  EXPECT_EQ(meld.info.class_names,
            (std::vector<std::string>{"neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger"}));
  EXPECT_EQ(meld.info.num_speakers, 9);
  EXPECT_EQ(dialogue_ids(meld, "valid"), (std::vector<std::string>{"1039"}));  // int ids as strings
  const Dialogue& m = dialogue_by_id(meld, "0");
  EXPECT_EQ(m.utterances[1].label, 4);
  EXPECT_EQ(m.utterances[1].speaker, 1);
  EXPECT_EQ(dialogue_by_id(meld, "1153").utterances[0].speaker, 2);
}

TEST(Cosmic, BrokenFilesAreFormatErrors) {
  const auto read = [](const std::string& rel, const std::string& format = "") {
    ReadOptions o;
    o.format = format;
    return [rel, o] { read_dataset(imer_fixture(rel), o); };
  };
  expect_format_error(read("broken/cosmic_roberta_rows.pkl"),
                      {"cosmic_roberta_rows.pkl", "roberta3['1_2_1']", "1 x 8 features, expected 2 utterances"});
  expect_format_error(read("broken/cosmic_two_hot.pkl"), {"speakers['1_2_1'][0] is not a one-hot speaker vector"});
  expect_format_error(read("broken/cosmic_unknown_id.pkl"), {"test_ids lists dialogue '9_9_9' that labels does not have"});
  expect_format_error(read("broken/cosmic_label_range.pkl"), {"labels['2_1_1'][1]: label 7 outside 0..6"});
  expect_format_error(read("broken/cosmic_meld_sentiment.pkl"), {"sentiment_labels['1039']: sentiment label 3 outside 0..2"});
  expect_format_error(read("cosmic/emorynlp.pkl", "cosmic-emorynlp"), {"expected a 10-tuple", "got a 6-list"});
}

TEST(Cosmic, DetectionSeparatesTheLayouts) {
  const Probe roberta = make_probe(imer_fixture("cosmic/emorynlp_features_roberta.pkl"));
  const Probe emory = make_probe(imer_fixture("cosmic/emorynlp.pkl"));
  const Probe iemocap = make_probe(imer_fixture("cosmic/iemocap.pkl"));
  EXPECT_TRUE(detect_cosmic_emorynlp(roberta));
  EXPECT_FALSE(detect_cosmic_emorynlp(emory));
  EXPECT_TRUE(detect_cosmic_text_emorynlp(emory));
  EXPECT_FALSE(detect_cosmic_text_iemocap(emory));  // one-hot speakers, not M/F
  EXPECT_TRUE(detect_cosmic_text_iemocap(iemocap));
  EXPECT_FALSE(detect_cosmic_text_emorynlp(iemocap));
  EXPECT_FALSE(detect_cosmic_text_meld(make_probe(imer_fixture("gcnet/CMUMOSI_features_raw_2way.pkl"))));
  ReadOptions o;
  o.feature_dirs[Modality::kAudio] = imer_fixture("features/mosi/audio");
  EXPECT_THROW(read_dataset(imer_fixture("cosmic/meld.pkl"), o), Error);
}

}  // namespace
}  // namespace merc::data
