#include "merc/models/gcnet.h"

#include "merc/core/error.h"
#include "merc/models/model_inputs.h"
#include "merc/nn/graph/gcnet_edges.h"
#include "merc/nn/graph/node_batch.h"
#include "merc/nn/loss/masked_reconstruction_loss.h"

namespace merc::models {

void GcnetConfig::visit(FieldVisitor& v) {
  ModelConfig::visit(v);
  v.field("rnn", rnn, "recurrent cell of all three recurrent layers: lstm (the reference's --base-model LSTM) or gru");
  v.field("hidden_dim", hidden_dim, "D_e: units per direction of the first BiLSTM (the reference's --hidden)");
  v.field("graph_hidden_dim", graph_hidden_dim, "G: width of both graph layers (0 = hidden_dim / 2, the reference's rule)");
  v.field("window_past", window_past, "the reference's --windowp: a source sends to this many earlier targets (-1 = all)");
  v.field("window_future", window_future, "the reference's --windowf: a source sends to this many later targets (-1 = all)");
  v.field("time_attn", time_attn, "MatchingAttention('general2') over each dialogue before the output layer (--time-attn)");
  v.field("dropout", dropout, "dropout between the two layers of every recurrent layer (--dropout)");
  v.field("pack", pack, "pack the padded batch in the recurrent layers (false = the reference: padding is read)");
  v.field("loss_recon", loss_recon, "add the reconstruction loss on missing entries (--loss-recon)");
  v.field("recon_weight", recon_weight, "weight of the reconstruction loss (the reference adds it with weight 1)");
  v.field("recon_reference_rows", recon_reference_rows,
          "reproduce the reference loss's utterance mask read in batch-major order against time-major rows");
  v.field("reccls", reccls, "classify from a second pass over the reconstructed input (--reccls-flag)");
  v.field("upstream_temporal_relations", upstream_temporal_relations,
          "import-checkpoint only: the checkpoint's temporal relation ids in order (GCNet iterates a Python set, "
          "so the order follows the run's PYTHONHASHSEED), e.g. now,future,past");
  v.field("upstream_speaker_relations", upstream_speaker_relations,
          "import-checkpoint only: the checkpoint's speaker relation ids in order as '<target><source>' speaker "
          "digits, e.g. 01,00,11,10 (empty = 00,01,10,11)");
  v.field("upstream_graph_conv", upstream_graph_conv,
          "import-checkpoint only: PyG GraphConv weight names, lin_rel (lin_rel/lin_root, PyG >= 2.0.2) or lin_l "
          "(lin_l/lin_r, older PyG such as the 2.0.1 GCNet's environment.yml pins)");
}

GcnetModel::GcnetModel(const GcnetConfig& config, const ModelDims& dims)
    : Model("gcnet"), config_(config), dims_(dims) {
  check_dims(dims, "gcnet");
  const nn::RnnCell cell = nn::parse_rnn_cell(config.rnn);
  MERC_CHECK(config.hidden_dim > 0, "gcnet: hidden_dim must be positive, got {}", config.hidden_dim);
  MERC_CHECK(config.graph_hidden_dim >= 0, "gcnet: graph_hidden_dim must be >= 0 (0 = hidden_dim / 2), got {}",
             config.graph_hidden_dim);
  const int64_t graph_dim = config.graph_hidden_dim > 0 ? config.graph_hidden_dim : config.hidden_dim / 2;
  MERC_CHECK(graph_dim > 0, "gcnet: graph_hidden_dim = hidden_dim / 2 is 0 for hidden_dim {}; set graph_hidden_dim",
             config.hidden_dim);
  MERC_CHECK(config.dropout >= 0 && config.dropout < 1, "gcnet: dropout must be in [0, 1), got {}", config.dropout);
  MERC_CHECK(config.recon_weight >= 0, "gcnet: recon_weight must be >= 0, got {}", config.recon_weight);
  for (data::Modality m : {data::Modality::kAudio, data::Modality::kText, data::Modality::kVisual})
    if (dims.use[static_cast<size_t>(m)]) order_.push_back(m);

  encoder_ = register_module("encoder", nn::SequenceEncoder(nn::SequenceEncoderOptions(input_dim(), config.hidden_dim)
                                                                .cell(cell)
                                                                .num_layers(2)
                                                                .dropout(config.dropout)));
  const int64_t f = encoder_->out_dim();
  auto branch = [&](int64_t relations) {
    return GcnetGraphNetwork(GcnetGraphNetworkOptions(f, graph_dim, relations)
                                 .cell(cell)
                                 .dropout(config.dropout)
                                 .time_attn(config.time_attn)
                                 .pack(config.pack));
  };
  temporal_ = register_module("temporal", branch(nn::kGcnetTemporalRelations));
  speaker_ = register_module("speaker", branch(nn::num_gcnet_speaker_relations(dims.num_speakers)));
  const int64_t d_h = temporal_->out_dim();
  smax_fc_ = register_module("smax_fc", torch::nn::Linear(d_h, dims.output_dim()));
  linear_rec_ = register_module("linear_rec", torch::nn::Linear(d_h, input_dim()));
}

int64_t GcnetModel::input_dim() const {
  int64_t d = 0;
  for (data::Modality m : order_) d += dims_.input_dims[static_cast<size_t>(m)];
  return d;
}

torch::Tensor GcnetModel::encode(const torch::Tensor& x, const data::DialogueBatch& batch,
                                 const torch::Tensor& positions) {
  const torch::Tensor c = run_sequence_encoder(encoder_, x, batch.lengths, config_.pack);
  const torch::Tensor nodes = nn::to_nodes(c, positions);  // (N, 2 D_e): padding dropped
  const nn::GcnetEdges edges =
      nn::gcnet_edges(batch.lengths, batch.speaker, config_.window_past, config_.window_future, dims_.num_speakers);
  const torch::Tensor h_temporal =
      temporal_(nodes, edges.edge_index, edges.temporal_relation, positions, batch.lengths, batch.utterance_mask);
  const torch::Tensor h_speaker =
      speaker_(nodes, edges.edge_index, edges.speaker_relation, positions, batch.lengths, batch.utterance_mask);
  return h_temporal + h_speaker;
}

ModelOutput GcnetModel::forward(const data::DialogueBatch& input, const ForwardContext&) {
  const data::DialogueBatch batch = checked_batch(input, dims_, "gcnet");
  const int64_t B = batch.utterance_mask.size(0), T = batch.utterance_mask.size(1);
  std::vector<torch::Tensor> parts;
  for (data::Modality m : order_) parts.push_back(masked_modality(batch, m));
  const torch::Tensor x = torch::cat(parts, 2);  // (B, T, input_dim())
  const torch::Tensor positions = nn::node_positions(batch.lengths, T);

  torch::Tensor hidden = encode(x, batch, positions);
  const torch::Tensor recon = linear_rec_(hidden);  // (B, T, input_dim()), from the masked input
  // --reccls-flag: the reference runs the model again on its own reconstruction and classifies
  // from that pass; the reconstruction loss stays on the first pass.
  if (config_.reccls) hidden = encode(recon, batch, positions);

  ModelOutput out;
  out.logits = zero_padding(smax_fc_(hidden), batch.utterance_mask);
  out.features["fused"] = zero_padding(hidden, batch.utterance_mask);
  out.features["reconstruction"] = zero_padding(recon, batch.utterance_mask);
  if (!config_.loss_recon) return out;

  // Targets: the features as collated, before the protocol (apply_missing) dropped any. An entry
  // is reconstructed when the data has it and the protocol dropped it; a modality the data itself
  // lacks has no target.
  const bool have_original = batch.unmasked_modality_mask.defined();
  const torch::Tensor original_mask = have_original ? batch.unmasked_modality_mask : batch.modality_mask;
  std::vector<torch::Tensor> targets, missing;
  std::vector<int64_t> block_dims;
  for (data::Modality m : order_) {
    const auto i = static_cast<size_t>(m);
    const torch::Tensor present = original_mask.select(2, static_cast<int64_t>(m));  // (B, T)
    const torch::Tensor& f = have_original ? batch.unmasked_features[i] : batch.features[i];
    MERC_CHECK(f.defined() && f.sizes() == batch.features[i].sizes(),
               "gcnet: the batch's unmasked {} features are missing or have the wrong shape",
               data::modality_name(m));
    targets.push_back(f.masked_fill(present.logical_not().unsqueeze(-1), 0));
    torch::Tensor miss = present & batch.modality_mask.select(2, static_cast<int64_t>(m)).logical_not();
    // The reference also draws masks over padding rows and reconstructs zeros there; with its row
    // order some padding rows are counted (below), so they must carry the protocol's mask.
    if (config_.recon_reference_rows && batch.protocol_keep.defined())
      miss = miss | (batch.utterance_mask.logical_not() &
                     batch.protocol_keep.select(2, static_cast<int64_t>(m)).logical_not());
    missing.push_back(miss);
    block_dims.push_back(dims_.input_dims[i]);
  }
  // The reference reshapes umask (batch, seqlen) to rows b * T + t but its reconstruction rows are
  // t * B + b; with recon_reference_rows the row (b, t) is counted when umask.flatten()[t * B + b].
  const torch::Tensor rows = config_.recon_reference_rows
                                 ? batch.utterance_mask.reshape({T, B}).t()
                                 : batch.utterance_mask;
  const torch::Tensor loss =
      nn::masked_reconstruction_loss(recon, torch::cat(targets, 2), torch::stack(missing, 2), block_dims, rows);
  out.aux_losses["recon"] = loss * config_.recon_weight;
  return out;
}

}  // namespace merc::models
