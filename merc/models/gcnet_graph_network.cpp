#include "merc/models/gcnet_graph_network.h"

#include <tuple>

#include "merc/nn/graph/node_batch.h"

namespace merc::models {

torch::Tensor run_sequence_encoder(nn::SequenceEncoder& encoder, const torch::Tensor& x, const torch::Tensor& lengths,
                                   bool pack) {
  if (pack) return encoder(x, lengths);
  TORCH_CHECK(x.dim() == 3 && x.size(2) == encoder->options.in_dim(), "run_sequence_encoder: expected input (B, T, ",
              encoder->options.in_dim(), "), got ", x.sizes());
  if (x.size(0) == 0 || x.size(1) == 0) return torch::zeros({x.size(0), x.size(1), encoder->out_dim()}, x.options());
  // Both modules are batch_first; the padded steps (zeros) are read like real ones, as in the
  // reference's nn.LSTM on the padded [seqlen, batch, dim] tensor.
  return encoder->lstm ? std::get<0>(encoder->lstm->forward(x)) : std::get<0>(encoder->gru->forward(x));
}

GcnetGraphNetworkImpl::GcnetGraphNetworkImpl(GcnetGraphNetworkOptions options_) : options(std::move(options_)) {
  reset();
}

void GcnetGraphNetworkImpl::reset() {
  TORCH_CHECK(options.in_dim() > 0 && options.graph_dim() > 0 && options.num_relations() > 0,
              "GcnetGraphNetwork: in_dim, graph_dim and num_relations must be positive, got ", options.in_dim(), ", ",
              options.graph_dim(), ", ", options.num_relations());
  const int64_t d_h = out_dim();
  rgcn = register_module("rgcn", nn::RgcnConv(nn::RgcnConvOptions(options.in_dim(), options.graph_dim(),
                                                                  options.num_relations())));
  graph_conv = register_module("graph_conv", nn::GraphConv(nn::GraphConvOptions(options.graph_dim(), options.graph_dim())));
  sequence = register_module("sequence", nn::SequenceEncoder(nn::SequenceEncoderOptions(d_h, d_h)
                                                                 .cell(options.cell())
                                                                 .num_layers(2)
                                                                 .dropout(options.dropout())));
  if (options.time_attn())
    attention = register_module("attention", nn::MatchingAttention(nn::MatchingAttentionOptions(2 * d_h, 2 * d_h)));
  linear = register_module("linear", torch::nn::Linear(2 * d_h, d_h));
}

torch::Tensor GcnetGraphNetworkImpl::forward(const torch::Tensor& x, const torch::Tensor& edge_index,
                                             const torch::Tensor& relation, const torch::Tensor& positions,
                                             const torch::Tensor& lengths, const torch::Tensor& utterance_mask) {
  const int64_t B = utterance_mask.size(0), T = utterance_mask.size(1);
  torch::Tensor h = rgcn(x, edge_index, relation);
  h = graph_conv(h, edge_index);
  const torch::Tensor u = nn::to_padded(torch::cat({x, h}, 1), positions, B, T);  // zeros at padding
  torch::Tensor s = run_sequence_encoder(sequence, u, lengths, options.pack());
  if (options.time_attn()) s = attention(s, s, utterance_mask).pooled;
  return torch::relu(linear(s));
}

}  // namespace merc::models
