#pragma once
// The two edge sets of MoED (edm-anonymous/MoED utils.py, create_ECGNN_edges and
// create_EIGNN_edges; method_reference.md §4.3-4.5), on block_layout.h's node layout with the
// modality blocks of the used modalities first (text, audio, visual order; the reference's l, a,
// v) and the multimodal block u last when the graph has one:
//
// ECGNN (emotional context graph)
//   1. windowed temporal edges inside every block (modalities and u), window_dir / window_dir_f,
//      multiplicities of the released code (TemporalMultiplicity::kReference), or --single_edge
//      inter (kDirectional), or corrected single edges (kSingle, temporal_duplicates = false);
//   2. intra-utterance edges among the modality blocks, each twice (once with single_edge intra);
//   3. directed modality -> u edges (directed_edge).
// EIGNN (emotional interaction graph)
//   1. same-speaker window edges inside every block (window_spk / window_spk_f), the first
//      utterance of each speaker never sending (skip_first_sender = true, the released code);
//   2. and 3. as ECGNN.

#include <string>
#include <vector>

#include <torch/types.h>

#include "merc/data/dataset.h"
#include "merc/nn/graph/block_layout.h"
#include "merc/nn/graph/multimodal_edges.h"

namespace merc::models {

struct MoedGraphOptions {
  int64_t window_spk = 10, window_spk_f = -1;  // EIGNN
  int64_t window_dir = 1, window_dir_f = -1;   // ECGNN
  std::string directed_edge = "avl";
  std::string single_edge;  // "", "intra" or "inter"
  bool skip_first_sender = true;
  bool temporal_duplicates = true;
};

// The modality blocks that send directed edges to u. A 3-letter directed_edge selects every
// modality block (the reference adds l, a and v for any string of length 3). Otherwise each
// letter (a, v or l) that appears in `modals_order` selects a block:
//   letter_quirk = true (reference): the block at the letter's POSITION in modals_order, counted
//     in block order (so with modals "avl": 'a' -> the text block, 'v' -> audio, 'l' -> visual);
//   letter_quirk = false: the letter's own modality block.
// Letters whose block does not exist are skipped; an unknown letter -> merc::Error.
std::vector<int64_t> moed_directed_sources(const std::string& directed_edge, const std::string& modals_order,
                                           const std::vector<data::Modality>& used, bool letter_quirk);

// num_modal_blocks = M; with_u: the layout has M + 1 blocks and block M is u. `sources` from
// moed_directed_sources (ignored without u).
nn::EdgeList moed_ecgnn_edges(const nn::BlockLayout& layout, int64_t num_modal_blocks, bool with_u,
                              const std::vector<int64_t>& sources, const MoedGraphOptions& o);
// speaker: (B, T) int64.
nn::EdgeList moed_eignn_edges(const nn::BlockLayout& layout, int64_t num_modal_blocks, bool with_u,
                              const std::vector<int64_t>& sources, const torch::Tensor& speaker,
                              const MoedGraphOptions& o);

}  // namespace merc::models
