#include "merc/models/dialogue_gcn.h"

#include "merc/core/error.h"
#include "merc/models/model_inputs.h"
#include "merc/nn/graph/node_batch.h"
#include "merc/nn/graph/window_edges.h"

namespace merc::models {

void DialogueGcnConfig::visit(FieldVisitor& v) {
  ModelConfig::visit(v);
  v.field("proj_dim", proj_dim, "linear projection of the fused input before the context encoder (0 = none)");
  v.field("rnn", rnn, "sequential context encoder cell: gru (paper) or lstm (the public code's default)");
  v.field("hidden_dim", hidden_dim, "context encoder units per direction (node features g have twice this)");
  v.field("num_layers", num_layers, "layers of the bidirectional context encoder");
  v.field("window_past", window_past, "past utterances each node receives edges from (-1 = all)");
  v.field("window_future", window_future, "future utterances each node receives edges from (-1 = all)");
  v.field("graph_hidden_dim", graph_hidden_dim, "output width of both graph layers");
  v.field("num_bases", num_bases, "bases of the relational graph conv (0 = one full matrix per relation)");
  v.field("classifier_hidden_dim", classifier_hidden_dim, "hidden width of the classifier");
  v.field("dropout", dropout, "dropout between context encoder layers and in the classifier");
}

DialogueGcnModel::DialogueGcnModel(const DialogueGcnConfig& config, const ModelDims& dims)
    : Model("dialogue_gcn"), config_(config), dims_(dims) {
  check_dims(dims, "dialogue_gcn");
  const nn::RnnCell cell = nn::parse_rnn_cell(config.rnn);
  MERC_CHECK(config.proj_dim >= 0, "dialogue_gcn: proj_dim must be >= 0, got {}", config.proj_dim);
  MERC_CHECK(config.hidden_dim > 0 && config.num_layers > 0 && config.graph_hidden_dim > 0 &&
                 config.classifier_hidden_dim > 0,
             "dialogue_gcn: hidden_dim, num_layers, graph_hidden_dim and classifier_hidden_dim must be positive, "
             "got {}, {}, {}, {}",
             config.hidden_dim, config.num_layers, config.graph_hidden_dim, config.classifier_hidden_dim);
  MERC_CHECK(config.num_bases >= 0, "dialogue_gcn: num_bases must be >= 0, got {}", config.num_bases);
  MERC_CHECK(config.dropout >= 0 && config.dropout < 1, "dialogue_gcn: dropout must be in [0, 1), got {}",
             config.dropout);

  int64_t in = fused_dim(dims);
  if (config.proj_dim > 0) {
    proj_ = register_module("proj", torch::nn::Linear(in, config.proj_dim));
    in = config.proj_dim;
  }
  context_ = register_module("context", nn::SequenceEncoder(nn::SequenceEncoderOptions(in, config.hidden_dim)
                                                                .cell(cell)
                                                                .num_layers(config.num_layers)
                                                                .dropout(config.dropout)));
  const int64_t g = context_->out_dim();
  edge_attention_ = register_module("edge_attention", nn::EdgeAttention(nn::EdgeAttentionOptions(g)));
  rgcn_ = register_module("rgcn", nn::RgcnConv(nn::RgcnConvOptions(g, config.graph_hidden_dim,
                                                                   nn::num_window_relations(dims.num_speakers))
                                                   .num_bases(config.num_bases)));
  graph_conv_ = register_module("graph_conv",
                                nn::GraphConv(nn::GraphConvOptions(config.graph_hidden_dim, config.graph_hidden_dim)));
  classifier_hidden_ =
      register_module("classifier_hidden", torch::nn::Linear(g + config.graph_hidden_dim, config.classifier_hidden_dim));
  output_ = register_module("output", torch::nn::Linear(config.classifier_hidden_dim, dims.output_dim()));
}

ModelOutput DialogueGcnModel::forward(const data::DialogueBatch& input, const ForwardContext&) {
  const data::DialogueBatch batch = checked_batch(input, dims_, "dialogue_gcn");
  const int64_t B = batch.utterance_mask.size(0), T = batch.utterance_mask.size(1);
  // 1. Early fusion (+ projection).
  torch::Tensor u = fused_input(batch, dims_);
  if (proj_) u = proj_(u);
  // 2. Sequential context encoder over each dialogue (packed: padding is never read); the real
  //    utterances of all dialogues become the N nodes of one graph.
  const torch::Tensor positions = nn::node_positions(batch.lengths, T);
  const torch::Tensor g = nn::to_nodes(context_(u, batch.lengths), positions);  // (N, 2 * hidden_dim)
  // 3. Window graph with speaker/direction relations and attention edge weights.
  const nn::WindowEdges edges =
      nn::window_edges(batch.lengths, batch.speaker, config_.window_past, config_.window_future, dims_.num_speakers);
  const torch::Tensor alpha = edge_attention_(g, edges.edge_index);
  // 4. Speaker-level context: relational graph conv, then graph conv over the same edges.
  torch::Tensor h = rgcn_(g, edges.edge_index, edges.relation, alpha);
  h = graph_conv_(h, edges.edge_index);
  // 5. Classifier on [g ; h].
  const torch::Tensor node = torch::cat({g, h}, 1);
  torch::Tensor hidden = torch::dropout(torch::relu(classifier_hidden_(node)), config_.dropout, is_training());
  ModelOutput out;
  out.logits = nn::to_padded(output_(hidden), positions, B, T);
  out.features["fused"] = nn::to_padded(node, positions, B, T);
  return out;
}

}  // namespace merc::models
