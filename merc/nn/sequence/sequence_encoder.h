#pragma once
// SequenceEncoder: a (bi)directional LSTM or GRU over padded sequences that never reads padding.
//
//   h_t = [ RNN_fwd(x_1 .. x_t) ; RNN_bwd(x_L .. x_t) ]   for t < L,   h_t = 0 for t >= L
//
// where L is the sequence's own length. The padded batch is packed (pack_padded_sequence with
// enforce_sorted=false), so a sequence gives the same outputs alone or padded next to a longer
// one, and the backward direction starts at its own last element rather than at the padding.
// This is the contextual LSTM of bc-LSTM (Poria et al., ACL 2017) and the sequential context
// encoder of DialogueGCN (Ghosal et al., EMNLP 2019).

#include <cstdint>
#include <string>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace merc::nn {

enum class RnnCell { kLstm, kGru };
// "lstm" / "gru"; anything else -> merc::Error listing both.
RnnCell parse_rnn_cell(const std::string& name);
const char* rnn_cell_name(RnnCell cell);

struct SequenceEncoderOptions {
  SequenceEncoderOptions(int64_t in_dim, int64_t hidden_dim) : in_dim_(in_dim), hidden_dim_(hidden_dim) {}
  TORCH_ARG(int64_t, in_dim);
  // Units per direction; the output has hidden_dim * (bidirectional ? 2 : 1) features.
  TORCH_ARG(int64_t, hidden_dim);
  TORCH_ARG(RnnCell, cell) = RnnCell::kLstm;
  TORCH_ARG(int64_t, num_layers) = 1;
  TORCH_ARG(bool, bidirectional) = true;
  // Dropout between stacked layers (torch's RNN `dropout`); no effect with one layer.
  TORCH_ARG(double, dropout) = 0.0;
  // Dropout on the input features with ONE mask per sequence shared by all time steps (the
  // variational input dropout of Keras' LSTM(dropout=p), used by bc-LSTM). 0 = off.
  TORCH_ARG(double, input_dropout) = 0.0;
};

class SequenceEncoderImpl : public torch::nn::Cloneable<SequenceEncoderImpl> {
 public:
  explicit SequenceEncoderImpl(SequenceEncoderOptions options);
  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;

  // x: (B, T, in_dim) float; lengths: (B) int64 in [0, T] (any device; read on the CPU).
  // Returns (B, T, out_dim()) with zeros at t >= lengths[b]. A zero-length sequence gives zeros.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& lengths);
  int64_t out_dim() const { return options.hidden_dim() * (options.bidirectional() ? 2 : 1); }

  SequenceEncoderOptions options;
  torch::nn::LSTM lstm{nullptr};  // set when cell == kLstm
  torch::nn::GRU gru{nullptr};    // set when cell == kGru
};
TORCH_MODULE(SequenceEncoder);

// Dropout of x (B, T, D) with one keep/drop mask per (sequence, feature), shared by all T steps
// (kept values scaled by 1 / (1 - p)). Identity when !training or p == 0.
torch::Tensor time_shared_dropout(const torch::Tensor& x, double p, bool training);

// (B, T) bool, true where t < lengths[b]; on lengths' device.
torch::Tensor length_mask(const torch::Tensor& lengths, int64_t max_length);

}  // namespace merc::nn
