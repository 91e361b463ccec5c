#include "merc/models/mmgcn.h"

#include "merc/core/error.h"
#include "merc/models/model_inputs.h"
#include "merc/nn/graph/mmgcn_graph.h"
#include "merc/nn/graph/node_batch.h"

namespace merc::models {

namespace {
constexpr int kMmText = static_cast<int>(data::Modality::kText);
constexpr int kMmAudio = static_cast<int>(data::Modality::kAudio);
constexpr int kMmVisual = static_cast<int>(data::Modality::kVisual);
}  // namespace

void MmgcnConfig::visit(FieldVisitor& v) {
  ModelConfig::visit(v);
  v.field("text_proj_dim", text_proj_dim, "width of the text projection before the LSTM (hidden_l = 200)");
  v.field("rnn_hidden_dim", rnn_hidden_dim,
          "text LSTM units per direction (D_e); node width D = 2 * rnn_hidden_dim, also the audio/visual projection");
  v.field("rnn", rnn, "text context encoder cell: lstm (public code) or gru");
  v.field("rnn_layers", rnn_layers, "layers of the bidirectional text encoder");
  v.field("packed_rnn", packed_rnn,
          "quirk switch: false runs the text encoder over the padded batch as the public code does; true packs");
  v.field("graph_hidden_dim", graph_hidden_dim, "GCNII width (graph_h)");
  v.field("num_layers", num_layers, "GCNII layers (the MMGCN branch hard-codes 64)");
  v.field("lambda", lambda, "GCNII lambda in theta_l = log(lambda / l + 1)");
  v.field("alpha", alpha, "GCNII initial-residual weight alpha");
  v.field("variant", variant, "GCNII variant: [Â h ; h0] W (true, public code) or ((1-alpha) Â h + alpha h0) W");
  v.field("use_speaker", use_speaker, "add a learned speaker embedding to the text nodes (--use_speaker)");
  v.field("dropout", dropout, "dropout in the text encoder, the GCNII stack and before the classifier");
}

MmgcnModel::MmgcnModel(const MmgcnConfig& config, const ModelDims& dims)
    : Model("mmgcn"), config_(config), dims_(dims) {
  check_dims(dims, "mmgcn");
  MERC_CHECK(config.text_proj_dim > 0 && config.rnn_hidden_dim > 0 && config.rnn_layers > 0 &&
                 config.graph_hidden_dim > 0 && config.num_layers >= 0,
             "mmgcn: text_proj_dim, rnn_hidden_dim, rnn_layers and graph_hidden_dim must be positive and num_layers "
             ">= 0, got {}, {}, {}, {}, {}",
             config.text_proj_dim, config.rnn_hidden_dim, config.rnn_layers, config.graph_hidden_dim, config.num_layers);
  MERC_CHECK(config.dropout >= 0 && config.dropout < 1, "mmgcn: dropout must be in [0, 1), got {}", config.dropout);
  MERC_CHECK(config.alpha >= 0 && config.alpha <= 1 && config.lambda > 0,
             "mmgcn: alpha must be in [0, 1] and lambda > 0, got {} and {}", config.alpha, config.lambda);
  const nn::RnnCell cell = nn::parse_rnn_cell(config.rnn);
  const int64_t D = 2 * config.rnn_hidden_dim;
  for (int m : {kMmAudio, kMmVisual, kMmText})
    if (dims.use[m]) blocks_.push_back(m);

  if (dims.use[kMmText]) {
    text_proj_ = register_module("text_proj", torch::nn::Linear(dims.input_dims[kMmText], config.text_proj_dim));
    const double rnn_dropout = config.rnn_layers > 1 ? config.dropout : 0.0;
    if (config.packed_rnn) {
      text_encoder_ = register_module(
          "text_encoder", nn::SequenceEncoder(nn::SequenceEncoderOptions(config.text_proj_dim, config.rnn_hidden_dim)
                                                  .cell(cell)
                                                  .num_layers(config.rnn_layers)
                                                  .dropout(rnn_dropout)));
    } else if (cell == nn::RnnCell::kLstm) {
      text_lstm_ = register_module(
          "text_lstm", torch::nn::LSTM(torch::nn::LSTMOptions(config.text_proj_dim, config.rnn_hidden_dim)
                                           .num_layers(config.rnn_layers)
                                           .bidirectional(true)
                                           .batch_first(true)
                                           .dropout(rnn_dropout)));
    } else {
      text_gru_ = register_module("text_gru", torch::nn::GRU(torch::nn::GRUOptions(config.text_proj_dim,
                                                                                   config.rnn_hidden_dim)
                                                                 .num_layers(config.rnn_layers)
                                                                 .bidirectional(true)
                                                                 .batch_first(true)
                                                                 .dropout(rnn_dropout)));
    }
    if (config.use_speaker)
      speaker_ = register_module("speaker", torch::nn::Embedding(dims.num_speakers, D));
  }
  if (dims.use[kMmAudio]) proj_[kMmAudio] = register_module("proj_audio", torch::nn::Linear(dims.input_dims[kMmAudio], D));
  if (dims.use[kMmVisual]) proj_[kMmVisual] = register_module("proj_visual", torch::nn::Linear(dims.input_dims[kMmVisual], D));

  graph_input_ = register_module("graph_input", torch::nn::Linear(D, config.graph_hidden_dim));
  for (int64_t l = 0; l < config.num_layers; ++l)
    convs_.push_back(register_module("gcnii" + std::to_string(l),
                                     nn::GcniiConv(nn::GcniiConvOptions(config.graph_hidden_dim)
                                                       .lambda(config.lambda)
                                                       .alpha(config.alpha)
                                                       .variant(config.variant))));
  const int64_t per_block = D + config.graph_hidden_dim;
  output_ = register_module(
      "output", torch::nn::Linear(per_block * static_cast<int64_t>(blocks_.size()), dims.output_dim()));
}

torch::Tensor MmgcnModel::text_context(const data::DialogueBatch& batch) {
  const torch::Tensor u = text_proj_(masked_modality(batch, data::Modality::kText));  // (B, T, P)
  if (text_encoder_) return text_encoder_(u, batch.lengths);
  // The public code's nn.LSTM over the padded (T, B, P) batch, without packing.
  if (text_lstm_) return std::get<0>(text_lstm_(u));
  return std::get<0>(text_gru_(u));
}

ModelOutput MmgcnModel::forward(const data::DialogueBatch& input, const ForwardContext&) {
  const data::DialogueBatch batch = checked_batch(input, dims_, "mmgcn");
  const int64_t B = batch.utterance_mask.size(0), T = batch.utterance_mask.size(1);
  const torch::Tensor positions = nn::node_positions(batch.lengths, T);
  const int64_t N = positions.size(0);
  const double p = config_.dropout;
  const bool train = is_training();

  // 1-2. Node features per modality block (N, D), speaker embedding on the text nodes.
  std::vector<torch::Tensor> blocks;
  for (int m : blocks_) {
    torch::Tensor u;
    if (m == kMmText) {
      u = nn::to_nodes(text_context(batch), positions);
      if (speaker_) u = u + speaker_(nn::to_nodes(batch.speaker.unsqueeze(-1), positions).squeeze(-1));
    } else {
      u = nn::to_nodes(proj_[m](masked_modality(batch, static_cast<data::Modality>(m))), positions);
    }
    blocks.push_back(u);
  }
  // 3. The multimodal graph, weighted by the (pre-dropout) node features.
  const nn::NormalizedAdjacency adj = nn::mmgcn_adjacency(blocks, batch.lengths.to(positions.device()));
  // 4. GCNII stack with the initial residual h0 and the residual concat.
  const torch::Tensor x = torch::dropout(torch::cat(blocks, 0), p, train);
  const torch::Tensor h0 = torch::relu(graph_input_(x));
  torch::Tensor h = h0;
  for (size_t l = 0; l < convs_.size(); ++l)
    h = torch::relu(convs_[l](torch::dropout(h, p, train), adj, h0, static_cast<int64_t>(l) + 1));
  const torch::Tensor g = torch::cat({x, torch::dropout(h, p, train)}, 1);  // (K N, D + graph_hidden)
  // 5. The K copies of each utterance side by side, then the classifier.
  std::vector<torch::Tensor> per_block;
  for (size_t k = 0; k < blocks_.size(); ++k) per_block.push_back(g.narrow(0, static_cast<int64_t>(k) * N, N));
  const torch::Tensor node = torch::cat(per_block, 1);
  ModelOutput out;
  out.logits = nn::to_padded(output_(torch::relu(torch::dropout(node, p, train))), positions, B, T);
  out.features["fused"] = nn::to_padded(node, positions, B, T);
  return out;
}

}  // namespace merc::models
