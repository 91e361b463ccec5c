#pragma once
// Utterance pairs of GraphSmile's sentiment-dynamics head (SDP; public code
// lijfrank-open/GraphSmile module.py, SenShift_Feat._build_match_sample and
// build_match_sen_shift_label). Each dialogue is cut into consecutive chunks of `window`
// utterances (the last chunk keeps the remainder; window = -1: the whole dialogue is one chunk),
// and every ORDERED pair (i, j) of utterances of a chunk, i = j included, is one pair. The head
// classifies [e_i ; e_j] as "sentiment shift" when sent_i != sent_j.
//
// Nodes are numbered as in node_batch.h. Pair order (the public code's): dialogue ascending, chunk
// ascending, i ascending, j ascending.

#include <cstdint>

#include <torch/types.h>

namespace merc::nn {

struct ChunkPairs {
  torch::Tensor first;   // (P) int64 node i
  torch::Tensor second;  // (P) int64 node j
};

// lengths: (B) int64 >= 0 (read on the CPU); window > 0 or -1. Results on lengths' device.
// Bad arguments -> c10::Error naming them.
ChunkPairs chunk_pairs(const torch::Tensor& lengths, int64_t window);

}  // namespace merc::nn
