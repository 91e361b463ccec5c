#include "merc/models/m3net.h"

#include "merc/core/error.h"
#include "merc/models/model_inputs.h"
#include "merc/nn/graph/block_layout.h"
#include "merc/nn/graph/edge_propagate.h"
#include "merc/nn/graph/multimodal_edges.h"
#include "merc/nn/graph/node_batch.h"

namespace merc::models {

void M3netConfig::visit(FieldVisitor& v) {
  ModelConfig::visit(v);
  visit_encoder_fields(v, encoder);
  v.field("graph_hidden_dim", graph_hidden_dim, "width of both branches (fc1 output; graph_hidden_size)");
  v.field("num_L", num_L, "hypergraph layers (--num_L)");
  v.field("num_K", num_K, "graph-branch (highConv) layers (--num_K)");
  v.field("use_speaker", use_speaker, "add the speaker embedding to the text nodes");
  v.field("head_dropout", head_dropout, "dropout before the ReLU and smax_fc (the reference's --dropout)");
  v.field("max_hyperedges", max_hyperedges,
          "size of the learnable hyperedge weights (reference: 1000); a batch with more hyperedges is an error");
  v.field("max_incidences", max_incidences,
          "size of the learnable EW weights (reference: 5200); a batch with more incidences is an error");
  v.field("ew_by_node_id", ew_by_node_id,
          "quirk switch: true (reference) = EW weights indexed by node id; false = one weight per incidence");
}

M3netModel::M3netModel(const M3netConfig& config, const ModelDims& dims) : Model("m3net"), config_(config), dims_(dims) {
  check_dims(dims, "m3net");
  const auto& c = config;
  MERC_CHECK(c.graph_hidden_dim > 0 && c.num_L >= 0 && c.num_K >= 0,
             "m3net: graph_hidden_dim must be positive and num_L, num_K >= 0, got {}, {}, {}", c.graph_hidden_dim,
             c.num_L, c.num_K);
  MERC_CHECK(c.head_dropout >= 0 && c.head_dropout < 1, "m3net: head_dropout must be in [0, 1), got {}", c.head_dropout);
  MERC_CHECK(c.max_hyperedges > 0 && c.max_incidences > 0, "m3net: max_hyperedges and max_incidences must be positive");
  encoder_ = register_module("encoder", M3netEncoder(c.encoder, dims, "m3net"));
  M_ = static_cast<int64_t>(encoder_->modalities.size());
  const int64_t Dg = c.encoder.hidden_dim, H = c.graph_hidden_dim;
  if (c.use_speaker && dims.use[0])
    speaker_embedding_ = register_module("speaker_embedding", torch::nn::Embedding(dims.num_speakers, Dg));
  fc1_ = register_module("fc1", torch::nn::Linear(Dg, H));
  hyperedge_weight_ = register_parameter("hyperedge_weight", torch::ones({c.max_hyperedges}));
  ew_weight_ = register_parameter("EW_weight", torch::ones({c.max_incidences}));
  for (int64_t l = 0; l < c.num_L; ++l)
    hyper_convs_.push_back(register_module("hyperconv" + std::to_string(l + 1), nn::HypergraphConv(H)));
  for (int64_t k = 0; k < c.num_K; ++k)
    graph_convs_.push_back(register_module("conv" + std::to_string(k + 1), nn::GatedEdgeConv(H)));
  smax_fc_ = register_module("smax_fc", torch::nn::Linear(M_ * 2 * H, dims.output_dim()));
}

ModelOutput M3netModel::forward(const data::DialogueBatch& input, const ForwardContext&) {
  const data::DialogueBatch batch = checked_batch(input, dims_, "m3net");
  const int64_t B = batch.utterance_mask.size(0), T = batch.utterance_mask.size(1);
  const torch::Tensor positions = nn::node_positions(batch.lengths, T);
  std::vector<torch::Tensor> blocks;
  const auto h = encoder_(batch);
  for (size_t m = 0; m < h.size(); ++m) {
    torch::Tensor x = nn::to_nodes(h[m], positions);
    if (speaker_embedding_ && encoder_->modalities[m] == data::Modality::kText)
      x = x + speaker_embedding_(batch.speaker.reshape({-1}).index_select(0, positions));
    blocks.push_back(x);
  }
  const nn::BlockLayout layout = nn::make_block_layout(batch.lengths, M_);
  const torch::Tensor x1 = fc1_(nn::interleave_blocks(blocks, layout));
  const auto device = x1.device();

  // Hypergraph branch.
  const nn::HyperIncidence inc = nn::m3net_hyperedges(layout, device);
  const int64_t I = inc.node.size(0);
  MERC_CHECK(inc.num_hyperedges <= config_.max_hyperedges,
             "m3net: this batch has {} hyperedges but model.max_hyperedges = {} (raise it, or use smaller batches)",
             inc.num_hyperedges, config_.max_hyperedges);
  MERC_CHECK(I <= config_.max_incidences,
             "m3net: this batch has {} hyperedge incidences but model.max_incidences = {} (raise it, or use smaller "
             "batches)",
             I, config_.max_incidences);
  const torch::Tensor w = hyperedge_weight_.slice(0, 0, inc.num_hyperedges);
  const torch::Tensor ew = config_.ew_by_node_id ? ew_weight_.index_select(0, inc.node) : ew_weight_.slice(0, 0, I);
  torch::Tensor hyper = x1;
  for (auto& conv : hyper_convs_) hyper = conv(hyper, inc, w, ew);

  // Graph branch.
  nn::EdgeList edges;
  std::vector<int64_t> all(static_cast<size_t>(M_));
  for (int64_t k = 0; k < M_; ++k) all[static_cast<size_t>(k)] = k;
  nn::add_all_pairs_edges(edges, layout, all);
  nn::add_intra_utterance_edges(edges, layout, all, 1);
  const nn::EdgeIndex gi = nn::make_edge_index(edges.to_tensor(device), layout.num_nodes());
  torch::Tensor g = x1;
  if (!graph_convs_.empty()) {
    const torch::Tensor norm = nn::symmetric_degree_norm(gi, nn::DegreeKind::kOut, x1.scalar_type());
    for (auto& conv : graph_convs_) g = g + conv(g, gi, norm);
  }

  // Head: per utterance, [hyper ; graph] of every block.
  const torch::Tensor both = torch::cat({hyper, g}, 1);
  std::vector<torch::Tensor> parts;
  for (int64_t k = 0; k < M_; ++k) parts.push_back(nn::block_rows(both, layout, k));
  const torch::Tensor z = torch::cat(parts, 1);
  const torch::Tensor hidden = torch::relu(torch::dropout(z, config_.head_dropout, is_training()));
  ModelOutput out;
  out.logits = nn::to_padded(smax_fc_(hidden), positions, B, T);
  out.features["fused"] = nn::to_padded(z, positions, B, T);
  return out;
}

}  // namespace merc::models
