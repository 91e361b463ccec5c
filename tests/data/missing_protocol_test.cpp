#include "merc/data/missing_protocol.h"

#include <set>

#include <gtest/gtest.h>

#include "merc/core/error.h"
#include "merc/data/missing_protocol_kinds.h"
#include "test_datasets.h"

namespace merc::data {
namespace {

const int kT = index_of(Modality::kText);
const int kA = index_of(Modality::kAudio);
const int kV = index_of(Modality::kVisual);

DialogueBatch tiny_batch(const Dataset& ds) {
  return collate({&ds.dialogues[0], &ds.dialogues[1], &ds.dialogues[2]}, ds.info);
}

std::string protocol_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ProtocolSpec, ParsesAndFormatsNameAndArgument) {
  const ProtocolSpec r = ProtocolSpec::parse("random:0.3");
  EXPECT_EQ(r.name, "random");
  EXPECT_EQ(r.arg, "0.3");
  EXPECT_EQ(r.to_string(), "random:0.3");
  const ProtocolSpec c = ProtocolSpec::parse("complete");
  EXPECT_EQ(c.name, "complete");
  EXPECT_EQ(c.arg, "");
  EXPECT_EQ(c.to_string(), "complete");
}

TEST(ProtocolSpec, RejectsMalformedText) {
  for (const char* bad :
       {"", ":0.3", "random:", "Random:0.3", "random: 0.3", "random:0.3 ", "fixed:A", "drop:a+v", "fixed:a:t"}) {
    EXPECT_THROW(ProtocolSpec::parse(bad), Error) << "'" << bad << "'";
  }
  EXPECT_NE(protocol_error_of([] { ProtocolSpec::parse("random:"); }).find("no argument"), std::string::npos);
}

TEST(MissingProtocolRegistry, OneTableWithUniqueDocumentedNames) {
  std::vector<std::string> names;
  for (const ProtocolInfo& p : missing_protocols()) {
    names.push_back(p.name);
    EXPECT_FALSE(p.description.empty()) << p.name;
    EXPECT_TRUE(static_cast<bool>(p.make)) << p.name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"complete", "fixed", "drop", "random", "imder"}));
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
}

TEST(MissingProtocolRegistry, CanonicalSpecsRoundTrip) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"complete", "complete"},     {"fixed:ta", "fixed:at"},     {"fixed:vta", "fixed:atv"},
      {"fixed:v", "fixed:v"},       {"drop:va", "drop:av"},        {"drop:t", "drop:t"},
      {"random:0.30", "random:0.3"}, {"random:0", "random:0.0"}, {"random:0.7", "random:0.7"},
      {"imder:0.30", "imder:0.3"},   {"imder:0.7", "imder:0.7"},
  };
  for (const auto& [text, canonical] : cases) {
    const auto p = make_missing_protocol(text, 1);
    EXPECT_EQ(p->spec(), canonical) << text;
    EXPECT_EQ(make_missing_protocol(p->spec(), 1)->spec(), canonical) << text;
  }
}

TEST(MissingProtocolRegistry, UnknownNameListsValidNames) {
  try {
    make_missing_protocol("gaussian:0.3", 1);
    FAIL() << "accepted an unknown protocol";
  } catch (const UnknownNameError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'gaussian'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("complete, fixed, drop, random, imder"), std::string::npos) << msg;
  }
}

TEST(MissingProtocolRegistry, BadArgumentsSayWhatIsAccepted) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"complete:at", "takes no argument"},
      {"fixed", "needs an argument"},
      {"fixed:x", "not a modality letter"},
      {"fixed:aa", "repeated"},
      {"fixed:a:t", "':' is not allowed"},
      {"drop", "needs an argument"},
      {"drop:atv", "nothing to learn"},
      {"random", "needs an argument"},
      {"random:0.8", "[0, 0.7]"},
      {"random:1.0", "[0, 0.7]"},
      {"random:-0.1", "not a rate"},
      {"random:1e-1", "not a rate"},
      {"random:.3", "not a rate"},
      {"random:0.", "not a rate"},
      {"random:nan", "not a rate"},
      {"imder:0.0", "0.1, 0.2, ..., 0.7"},
      {"imder:0.8", "0.1, 0.2, ..., 0.7"},
      {"imder:0.35", "0.1, 0.2, ..., 0.7"},
  };
  for (const auto& [text, expected] : cases) {
    const std::string msg = protocol_error_of([&] { make_missing_protocol(text, 1); });
    EXPECT_NE(msg.find(expected), std::string::npos) << text << " -> " << msg;
    EXPECT_NE(msg.find(text), std::string::npos) << "message should quote the spec: " << msg;
  }
  EXPECT_NE(protocol_error_of([] { make_missing_protocol("imder:0.3", 1, RedrawMode::kFixed); }).find("no fixed"),
            std::string::npos);
}

TEST(MissingProtocolRegistry, RedrawModeNames) {
  EXPECT_EQ(parse_redraw_mode("per_batch"), RedrawMode::kPerBatch);
  EXPECT_EQ(parse_redraw_mode("fixed"), RedrawMode::kFixed);
  EXPECT_STREQ(redraw_mode_name(RedrawMode::kFixed), "fixed");
  EXPECT_STREQ(redraw_mode_name(RedrawMode::kPerBatch), "per_batch");
  EXPECT_THROW(parse_redraw_mode("batch"), Error);
}

TEST(MissingProtocolHelpers, RatesAndLetters) {
  EXPECT_EQ(parse_rate("0.25", "s"), 0.25);
  EXPECT_EQ(parse_rate("1", "s"), 1.0);
  EXPECT_EQ(format_rate(0.1 + 0.2), "0.30000000000000004");  // shortest round trip, like Python
  EXPECT_EQ(format_rate(0.0), "0.0");
  EXPECT_EQ(format_rate(0.5), "0.5");
  const std::array<bool, 3> tv = parse_modality_letters("vt", "s");
  EXPECT_TRUE(tv[kT]);
  EXPECT_FALSE(tv[kA]);
  EXPECT_TRUE(tv[kV]);
  EXPECT_EQ(modality_letters(tv), "tv");
  EXPECT_EQ(modality_letters({true, true, true}), "atv");
  EXPECT_THROW(parse_modality_letters("", "s"), Error);
}

TEST(FixedConditions, KeepExactlyTheNamedColumnsEverywhere) {
  const Dataset ds = testing::tiny_dataset();
  const DialogueBatch batch = tiny_batch(ds);
  for (const std::string c : {"a", "t", "v", "at", "av", "tv", "atv"}) {
    const torch::Tensor keep = make_missing_protocol("fixed:" + c, 3)->draw(batch, {});
    ASSERT_EQ(keep.sizes(), batch.modality_mask.sizes());
    ASSERT_EQ(keep.scalar_type(), torch::kBool);
    const int64_t cells = keep.size(0) * keep.size(1);
    EXPECT_EQ(keep.select(2, kA).sum().item<int64_t>(), c.find('a') != std::string::npos ? cells : 0) << c;
    EXPECT_EQ(keep.select(2, kT).sum().item<int64_t>(), c.find('t') != std::string::npos ? cells : 0) << c;
    EXPECT_EQ(keep.select(2, kV).sum().item<int64_t>(), c.find('v') != std::string::npos ? cells : 0) << c;
  }
  // drop:X keeps the complement of X; complete keeps everything.
  for (const auto& [drop, fixed] : std::vector<std::pair<std::string, std::string>>{
           {"a", "tv"}, {"t", "av"}, {"v", "at"}, {"av", "t"}, {"at", "v"}, {"tv", "a"}}) {
    EXPECT_TRUE(torch::equal(make_missing_protocol("drop:" + drop, 1)->draw(batch, {}),
                             make_missing_protocol("fixed:" + fixed, 1)->draw(batch, {})))
        << drop;
  }
  EXPECT_TRUE(make_missing_protocol("complete", 1)->draw(batch, {}).all().item<bool>());
}

// Batch [d0, d1]: B = 2, T = 3; d0 has 2 utterances, d1 three with audio missing at utterance 1.
TEST(ApplyMissing, AndsMasksZeroesFeaturesAndNeverReEnables) {
  const Dataset ds = testing::tiny_dataset();
  DialogueBatch batch = collate({&ds.dialogues[0], &ds.dialogues[1]}, ds.info);
  batch.features[0][1][0][1] = std::numeric_limits<float>::quiet_NaN();  // masked_fill must clear it
  torch::Tensor keep = torch::ones({2, 3, 3}, torch::kBool);
  keep[0][0][kT] = false;  // d0 u0 loses text
  keep[1][0][kT] = false;  // d1 u0 loses text (the NaN)
  keep[1][2][kA] = false;  // d1 u2 loses audio
  // keep[1][1][kA] stays true: the data has no audio there and it must stay missing.
  apply_missing(batch, keep);

  // Expected modality_mask, hand-derived: [dialogue][utterance] = {text, audio, visual}.
  const bool expected[2][3][3] = {
      {{false, true, false}, {true, true, false}, {false, false, false}},  // d0, padding at u2
      {{false, true, false}, {true, false, false}, {true, false, false}},  // d1
  };
  for (int b = 0; b < 2; ++b) {
    for (int t = 0; t < 3; ++t) {
      for (int m = 0; m < 3; ++m) {
        EXPECT_EQ(batch.modality_mask[b][t][m].item<bool>(), expected[b][t][m]) << b << " " << t << " " << m;
      }
    }
  }
  // Features: text[b][t][j] = 100*dialogue + 10*t + j, audio the same + 0.5 (test_datasets.h).
  EXPECT_EQ(batch.features[0][0][0].abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(batch.features[0][1][0].abs().sum().item<float>(), 0.0f);  // NaN cleared too
  EXPECT_EQ(batch.features[0][0][1][1].item<float>(), 11.0f);          // untouched
  EXPECT_EQ(batch.features[0][1][1][0].item<float>(), 110.0f);
  EXPECT_EQ(batch.features[1][1][2].abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(batch.features[1][1][0][2].item<float>(), 102.5f);
  EXPECT_EQ(batch.features[1][0][1][0].item<float>(), 10.5f);
  EXPECT_FALSE(batch.features[2].defined());  // the dataset has no visual features

  // A second, all-true keep changes nothing: nothing comes back.
  const torch::Tensor before = batch.modality_mask.clone();
  apply_missing(batch, torch::ones({2, 3, 3}, torch::kBool));
  EXPECT_TRUE(torch::equal(batch.modality_mask, before));
}

TEST(ApplyMissing, RejectsWrongShapesAndTypes) {
  const Dataset ds = testing::tiny_dataset();
  DialogueBatch batch = tiny_batch(ds);
  EXPECT_THROW(apply_missing(batch, torch::ones({3, 3}, torch::kBool)), Error);
  EXPECT_THROW(apply_missing(batch, torch::ones({3, 2, 3}, torch::kBool)), Error);
  EXPECT_THROW(apply_missing(batch, torch::ones({3, 3, 3}, torch::kFloat)), Error);
  EXPECT_THROW(apply_missing(batch, torch::Tensor()), Error);
  const std::string msg = protocol_error_of([&] { apply_missing(batch, torch::ones({3, 2, 3}, torch::kBool)); });
  EXPECT_NE(msg.find("3x2x3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("3x3x3"), std::string::npos) << msg;
}

TEST(ApplyMissing, WorksOnTimeMajorBatches) {
  const Dataset ds = testing::tiny_dataset();
  DialogueBatch bm = tiny_batch(ds);
  DialogueBatch tm = bm.time_major();
  auto p1 = make_missing_protocol("random:0.5", 9);
  auto p2 = make_missing_protocol("random:0.5", 9);
  const torch::Tensor k_bm = p1->draw(bm, {});
  const torch::Tensor k_tm = p2->draw(tm, {});
  EXPECT_TRUE(torch::equal(k_tm, k_bm.transpose(0, 1)));  // same mask, other layout
  apply_missing(bm, k_bm);
  apply_missing(tm, k_tm);
  EXPECT_TRUE(torch::equal(tm.batch_major().modality_mask, bm.modality_mask));
  EXPECT_TRUE(torch::equal(tm.batch_major().features[1], bm.features[1]));
}

// Semantic vectors are not a modality: dropping text (or everything) leaves them as collated; the
// model masks them by text availability itself (DialogueBatch::semantic).
TEST(ApplyMissing, LeavesSemanticVectorsUntouched) {
  Dataset ds = testing::tiny_dataset();
  ds.info.semantic_dim = 2;
  for (Dialogue& d : ds.dialogues) {
    d.semantic = FeatureMatrix(d.length(), 2);
    for (float& v : d.semantic.values) v = 1.5f;
  }
  DialogueBatch batch = collate({&ds.dialogues[0], &ds.dialogues[1]}, ds.info);
  const torch::Tensor before = batch.semantic.clone();
  apply_missing(batch, torch::zeros({2, 3, 3}, torch::kBool));
  EXPECT_FALSE(batch.modality_mask.any().item<bool>());
  EXPECT_TRUE(torch::equal(batch.semantic, before));
}

}  // namespace
}  // namespace merc::data
