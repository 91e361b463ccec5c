#include "merc/data/missing_protocol_kinds.h"

#include <map>

#include <gtest/gtest.h>

#include "merc/core/error.h"
#include "merc/data/numpy_random.h"
#include "merc/data/random_mask.h"
#include "test_datasets.h"

namespace merc::data {
namespace {

// (B, T, 3) bool -> "ttt..." digits in b, t, (text, audio, visual) order.
std::string keep_bits(const torch::Tensor& keep) {
  const torch::Tensor k = keep.to(torch::kCPU).contiguous();
  std::string s;
  for (int64_t i = 0; i < k.numel(); ++i) s += k.data_ptr<bool>()[i] ? '1' : '0';
  return s;
}

DialogueBatch batch_of(const Dataset& ds, std::initializer_list<int> order) {
  std::vector<const Dialogue*> dialogues;
  for (int i : order) dialogues.push_back(&ds.dialogues[static_cast<size_t>(i)]);
  return collate(dialogues, ds.info);
}

// numpy 1.24.2 running our transcription of ComP's per-batch masking (train_mr.py: host then guest
// random_mask(3, seqlen*batch, 0.3), reshape to (batch, seqlen), speaker 0 -> host) after
// np.random.seed(66), on tiny_dataset [d0, d1, d2] twice; printed in merc's (text, audio, visual)
// order by /usr/bin/python3 scripts/numpy_random_reference.py, section "random:0.3 protocol".
TEST(RandomProtocol, PerBatchMatchesComPLayoutComputedWithNumpy) {
  const Dataset ds = testing::tiny_dataset();
  const DialogueBatch batch = batch_of(ds, {0, 1, 2});
  auto p = make_missing_protocol("random:0.3", 66);
  EXPECT_EQ(keep_bits(p->draw(batch, {0, 0, 2})), "111111111111010111111101100");
  EXPECT_EQ(keep_bits(p->draw(batch, {0, 1, 2})), "111001110111110100110101111");
}

TEST(RandomProtocol, PerBatchIsHostGuestRandomMaskReshapedByRow) {
  // The documented construction, rebuilt from random_mask: row r = b*T + t, speaker 0 -> host,
  // merc column m <- GCNet column (1, 0, 2)[m].
  const Dataset ds = testing::tiny_dataset();
  const DialogueBatch batch = batch_of(ds, {1, 0, 2});
  auto p = make_missing_protocol("random:0.5", 1234);
  const torch::Tensor keep = p->draw(batch, {});
  NumpyRandomState rng(1234);
  const int64_t B = 3, T = 3;
  const RandomMask host = random_mask(rng, B * T, 0.5);
  const RandomMask guest = random_mask(rng, B * T, 0.5);
  const int gcnet_col[3] = {1, 0, 2};
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      const RandomMask& src = batch.speaker[b][t].item<int64_t>() == 0 ? host : guest;
      for (int m = 0; m < 3; ++m) {
        EXPECT_EQ(keep[b][t][m].item<bool>(), src.at(b * T + t, gcnet_col[m]) == 1) << b << t << m;
      }
    }
  }
  // The protocol consumed exactly the two masks' draws.
  EXPECT_EQ(p->rng_state(), rng.state());
}

TEST(RandomProtocol, PerBatchDeterministicPerSeed) {
  const Dataset ds = testing::tiny_dataset();
  const DialogueBatch batch = batch_of(ds, {0, 1, 2});
  auto a = make_missing_protocol("random:0.5", 7);
  auto b = make_missing_protocol("random:0.5", 7);
  auto c = make_missing_protocol("random:0.5", 8);
  std::string sa, sb, sc;
  for (int i = 0; i < 4; ++i) {
    sa += keep_bits(a->draw(batch, {}));
    sb += keep_bits(b->draw(batch, {}));
    sc += keep_bits(c->draw(batch, {}));
  }
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sc);  // 108 cells at rate 0.5: equal by chance with negligible probability
  // Successive batches differ (new masks every batch).
  EXPECT_NE(sa.substr(0, 27), sa.substr(27, 27));
}

TEST(RandomProtocol, FixedModeIsPerDialogueAndMatchesNumpy) {
  // numpy 1.24.2 (script section "fixed mode"): dialogue_seed(66, id) seeds
  // np.random.RandomState([low, high]); host then guest random_mask(3, n, 0.5); speaker 0 -> host.
  EXPECT_EQ(dialogue_seed(0, ""), 12161962213042174405ULL);
  EXPECT_EQ(dialogue_seed(66, "d0"), 14117380428960072459ULL);
  EXPECT_EQ(dialogue_seed(~0ULL, "Ses01F_impro01"), 2280135831267735996ULL);
  const std::map<std::string, std::string> expected = {{"d0", "010010"}, {"d1", "100101001"}, {"d2", "001"}};

  const Dataset ds = testing::tiny_dataset();
  auto p = make_missing_protocol("random:0.5", 66, RedrawMode::kFixed);
  EXPECT_EQ(p->rng_state(), "");
  // Two compositions and orders, two "epochs": each dialogue's real rows never change.
  for (const auto& order : {std::vector<int>{0, 1, 2}, std::vector<int>{2, 0}, std::vector<int>{1, 0}}) {
    for (int epoch = 0; epoch < 2; ++epoch) {
      std::vector<const Dialogue*> dialogues;
      for (int i : order) dialogues.push_back(&ds.dialogues[static_cast<size_t>(i)]);
      const DialogueBatch batch = collate(dialogues, ds.info);
      const torch::Tensor keep = p->draw(batch, {epoch, 0, 1});
      for (int64_t b = 0; b < batch.batch_size(); ++b) {
        const std::string& id = batch.dialogue_id[static_cast<size_t>(b)];
        const int64_t n = batch.lengths[b].item<int64_t>();
        EXPECT_EQ(keep_bits(keep[b].slice(0, 0, n)), expected.at(id)) << id;
        EXPECT_FALSE(keep[b].slice(0, n).any().item<bool>()) << "padding rows are false";
      }
    }
  }
}

// One dialogue of `length` utterances, text only, every speaker 0.
Dataset long_dialogue(int64_t length) {
  Dataset ds;
  ds.info.name = "long";
  ds.info.class_names = {"neg", "pos"};
  ds.info.num_speakers = 1;
  ds.info.modality_dims = {1, 0, 0};
  Dialogue dlg;
  dlg.id = "long";
  dlg.features[0] = FeatureMatrix(length, 1);
  for (int64_t u = 0; u < length; ++u) {
    Utterance utt;
    utt.id = "u" + std::to_string(u);
    utt.label = 0;
    dlg.utterances.push_back(utt);
  }
  ds.dialogues.push_back(std::move(dlg));
  return ds;
}

TEST(RandomProtocol, LengthWhereGcnetWouldHangDrawsOneMoreRow) {
  // B*T = 33 at rate 0.5 has no finishing draw (random_mask_can_finish); the protocol draws 34 rows
  // for host and guest and uses the first 33 instead of failing the run.
  const Dataset ds = long_dialogue(33);
  const DialogueBatch batch = batch_of(ds, {0});
  for (RedrawMode mode : {RedrawMode::kPerBatch, RedrawMode::kFixed}) {
    auto p = make_missing_protocol("random:0.5", 4, mode);
    const torch::Tensor keep = p->draw(batch, {});
    NumpyRandomState rng;
    rng.seed_u64(mode == RedrawMode::kPerBatch ? 4 : dialogue_seed(4, "long"));
    const RandomMask host = random_mask(rng, 34, 0.5);  // speaker 0 everywhere: host rows only
    for (int64_t t = 0; t < 33; ++t) {
      EXPECT_EQ(keep[0][t][0].item<bool>(), host.at(t, 1) == 1) << t;  // text = GCNet column 1
      EXPECT_EQ(keep[0][t][1].item<bool>(), host.at(t, 0) == 1) << t;  // audio = column 0
    }
  }
}

TEST(ImderSchedule, FractionsOverHundredBatchesMatchThePaper) {
  // N = 100 -> N10 = 100: c2 = 100*miss_2, c1 = 100*miss_1 exactly; missing fraction
  // (2*c2 + c1) / (3*N) = (2*miss_2 + miss_1) / 3.
  const int64_t two[7] = {10, 20, 30, 50, 70, 90, 100};
  const int64_t one[7] = {10, 20, 30, 20, 10, 0, 0};
  const double fraction[7] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 2.0 / 3.0};
  for (int r = 1; r <= 7; ++r) {
    int64_t c2 = 0, c1 = 0;
    for (int64_t k = 0; k < 100; ++k) {
      const ImderBatchKind kind = imder_batch_kind(r, k, 100);
      c2 += kind == ImderBatchKind::kTwoMissing;
      c1 += kind == ImderBatchKind::kOneMissing;
    }
    EXPECT_EQ(c2, two[r - 1]) << r;
    EXPECT_EQ(c1, one[r - 1]) << r;
    // Tolerance: one rounding of a ratio of small integers.
    EXPECT_NEAR((2.0 * static_cast<double>(c2) + static_cast<double>(c1)) / 300.0, fraction[r - 1], 1e-12) << r;
  }
}

TEST(ImderSchedule, RoundsBatchCountHalfToEvenLikeNumpy) {
  // rate 0.3 (miss_2 = miss_1 = 0.3): count = #{j : j / N10 < 0.3}.
  EXPECT_EQ(imder_counts(3, 25).two_missing, 6);   // N10 = round(2.5) * 10 = 20: j = 0..5
  EXPECT_EQ(imder_counts(3, 25).one_missing, 6);
  EXPECT_EQ(imder_counts(3, 35).two_missing, 12);  // N10 = round(3.5) * 10 = 40: j = 0..11
  EXPECT_EQ(imder_counts(3, 15).two_missing, 6);   // N10 = 20
  EXPECT_EQ(imder_counts(3, 14).two_missing, 3);   // N10 = 10
  // Capped by the pass length: rate 0.7 with 7 batches (N10 = 10) -> all 7 miss two.
  EXPECT_EQ(imder_counts(7, 7).two_missing, 7);
  EXPECT_EQ(imder_counts(7, 7).one_missing, 0);
  // N <= 5: N10 = 0, numpy's NaN ratios make every batch complete (quirk kept).
  EXPECT_EQ(imder_counts(5, 5).two_missing, 0);
  EXPECT_EQ(imder_batch_kind(5, 4, 5), ImderBatchKind::kComplete);
  EXPECT_THROW(imder_batch_kind(3, 10, 10), Error);
  EXPECT_THROW(imder_batch_kind(3, -1, 10), Error);
  EXPECT_THROW(imder_counts(8, 10), Error);
  EXPECT_THROW(imder_counts(3, 0), Error);
}

TEST(ImderProtocol, MasksFollowTheScheduleWithSeededModalityChoice) {
  const Dataset ds = testing::tiny_dataset();
  const DialogueBatch batch = batch_of(ds, {0, 1, 2});
  auto p = make_missing_protocol("imder:0.4", 21);
  NumpyRandomState replay(21);
  const int gcnet_col[3] = {1, 0, 2};  // merc (text, audio, visual) -> GCNet (a, t, v) column
  const int64_t N = 20;                // N10 = 20: 10 batches miss two, then 4 miss one, 6 complete
  for (int64_t k = 0; k < N; ++k) {
    const torch::Tensor keep = p->draw(batch, {0, k, N});
    const torch::Tensor row = keep[0][0].clone();
    EXPECT_TRUE(torch::equal(keep, row.view({1, 1, 3}).expand_as(keep))) << "one pattern per batch";
    const int64_t kept = row.sum().item<int64_t>();
    if (k < 10) {
      ASSERT_EQ(kept, 1) << k;
      const int64_t col = replay.randint(0, 3);
      for (int m = 0; m < 3; ++m) EXPECT_EQ(row[m].item<bool>(), gcnet_col[m] == col) << k;
    } else if (k < 14) {
      ASSERT_EQ(kept, 2) << k;
      const int64_t col = replay.randint(0, 3);
      for (int m = 0; m < 3; ++m) EXPECT_EQ(row[m].item<bool>(), gcnet_col[m] != col) << k;
    } else {
      EXPECT_EQ(kept, 3) << k;
    }
  }
  EXPECT_EQ(p->rng_state(), replay.state());
}

TEST(ProtocolState, SaveRestoreResumesTheIdenticalStream) {
  const Dataset ds = testing::tiny_dataset();
  const DialogueBatch batch = batch_of(ds, {0, 1, 2});
  for (const char* spec : {"random:0.3", "imder:0.2"}) {
    auto p = make_missing_protocol(spec, 5);
    p->draw(batch, {0, 0, 10});
    const std::string saved = p->rng_state();
    const std::string next1 = keep_bits(p->draw(batch, {0, 1, 10}));
    const std::string next2 = keep_bits(p->draw(batch, {0, 2, 10}));
    auto q = make_missing_protocol(spec, 999);  // another seed, then the saved state
    q->set_rng_state(saved);
    EXPECT_EQ(keep_bits(q->draw(batch, {0, 1, 10})), next1) << spec;
    EXPECT_EQ(keep_bits(q->draw(batch, {0, 2, 10})), next2) << spec;
    EXPECT_THROW(q->set_rng_state("garbage"), Error) << spec;
  }
  // Stateless protocols: "" in, "" out; anything else is an error.
  for (const char* spec : {"complete", "fixed:at", "drop:v"}) {
    auto p = make_missing_protocol(spec, 5);
    EXPECT_EQ(p->rng_state(), "");
    EXPECT_NO_THROW(p->set_rng_state(""));
    EXPECT_THROW(p->set_rng_state("x"), Error);
  }
  auto fixed = make_missing_protocol("random:0.3", 5, RedrawMode::kFixed);
  EXPECT_THROW(fixed->set_rng_state(NumpyRandomState(1).state()), Error);
}

TEST(RandomProtocol, RateZeroKeepsEverythingAndSevenTenthsKeepsOneModality) {
  const Dataset ds = testing::tiny_dataset();
  const DialogueBatch batch = batch_of(ds, {0, 1, 2});
  EXPECT_TRUE(make_missing_protocol("random:0.0", 3)->draw(batch, {}).all().item<bool>());
  const torch::Tensor keep = make_missing_protocol("random:0.7", 3)->draw(batch, {});
  EXPECT_TRUE(torch::equal(keep.sum(2), torch::ones({3, 3}, torch::kLong)));
}

}  // namespace
}  // namespace merc::data
