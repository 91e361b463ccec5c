#pragma once
// Sentiment targets and the two auxiliary losses of GraphSmile (Li, Wang, Zeng, TPAMI 2025; public
// code lijfrank-open/GraphSmile trainer.py, module.py, dataloader.py).
//
// GraphSmile trains an utterance sentiment head (3 classes: 0 negative, 1 neutral, 2 positive)
// and the sentiment-dynamics head SDP on pairs of utterances ("does the sentiment shift between
// i and j?"). merc's batch carries one label per utterance, so the sentiment of an utterance is
// derived:
//   - classification: sentiment = map[label] with a per-dataset emotion -> sentiment map (entry -1:
//     no sentiment for that class, the utterance is left out of both losses). GraphSmile's own
//     loaders derive it the same way for IEMOCAP-6 ({1,3,5} -> 0, {2} -> 1, {0,4} -> 2),
//     IEMOCAP-4 ({1,3} -> 0, {2} -> 1, {0} -> 2) and CMU-MOSEI-7 (bins 0-2 -> 0, 3 -> 1, 4-6 -> 2);
//     for MELD it reads the annotated sentiment, which an emotion map can only approximate;
//   - regression: the sign of the score (s < 0 -> 0, s = 0 -> 1, s > 0 -> 2, GraphSmile's MOSEI
//     rule); NaN scores have no sentiment.

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "merc/data/batch.h"
#include "merc/data/dataset.h"

namespace merc::models {

inline constexpr int64_t kNumSentiments = 3;

// (N) int64 sentiment per node (node order of node_batch.h: `positions` from node_positions), -1
// where there is none. Classification with an empty map -> all -1. A label outside the map ->
// merc::Error naming it.
torch::Tensor node_sentiments(const data::DialogueBatch& batch, const torch::Tensor& positions, data::Task task,
                              const std::vector<int64_t>& sentiment_map);

// Shift targets for pairs (first, second): 1 when the two sentiments differ, 0 when they agree,
// -1 when either is unknown.
torch::Tensor shift_targets(const torch::Tensor& sentiments, const torch::Tensor& first, const torch::Tensor& second);

// Mean negative log-likelihood of log_softmax(logits) (P, C) over the rows whose target (P) is
// >= 0; 0 (still attached to the graph) when there is none.
torch::Tensor masked_nll(const torch::Tensor& logits, const torch::Tensor& targets);

}  // namespace merc::models
