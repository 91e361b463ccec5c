#include "merc/nn/sequence/sequence_encoder.h"

#include <ostream>
#include <tuple>

#include <torch/nn/utils/rnn.h>

#include "merc/core/error.h"

namespace merc::nn {

RnnCell parse_rnn_cell(const std::string& name) {
  if (name == "lstm") return RnnCell::kLstm;
  if (name == "gru") return RnnCell::kGru;
  throw Error(fmt::format("unknown recurrent cell '{}'; valid: lstm, gru", name));
}

const char* rnn_cell_name(RnnCell cell) { return cell == RnnCell::kLstm ? "lstm" : "gru"; }

torch::Tensor length_mask(const torch::Tensor& lengths, int64_t max_length) {
  auto steps = torch::arange(max_length, lengths.options().dtype(torch::kInt64));
  return steps.unsqueeze(0) < lengths.to(torch::kInt64).unsqueeze(1);
}

torch::Tensor time_shared_dropout(const torch::Tensor& x, double p, bool training) {
  TORCH_CHECK(x.dim() == 3, "time_shared_dropout: expected (B, T, D), got ", x.sizes());
  if (!training || p == 0) return x;
  return x * torch::dropout(torch::ones({x.size(0), 1, x.size(2)}, x.options()), p, true);
}

SequenceEncoderImpl::SequenceEncoderImpl(SequenceEncoderOptions options_) : options(std::move(options_)) {
  reset();
}

void SequenceEncoderImpl::reset() {
  TORCH_CHECK(options.in_dim() > 0 && options.hidden_dim() > 0 && options.num_layers() > 0,
              "SequenceEncoder: in_dim, hidden_dim and num_layers must be positive, got ", options.in_dim(), ", ",
              options.hidden_dim(), ", ", options.num_layers());
  TORCH_CHECK(options.dropout() >= 0 && options.dropout() < 1 && options.input_dropout() >= 0 &&
                  options.input_dropout() < 1,
              "SequenceEncoder: dropout and input_dropout must be in [0, 1), got ", options.dropout(), " and ",
              options.input_dropout());
  // Torch warns when dropout is set on a single-layer RNN (it would do nothing); pass 0 then.
  const double between = options.num_layers() > 1 ? options.dropout() : 0.0;
  if (options.cell() == RnnCell::kLstm) {
    lstm = register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(options.in_dim(), options.hidden_dim())
                                                       .num_layers(options.num_layers())
                                                       .bidirectional(options.bidirectional())
                                                       .dropout(between)
                                                       .batch_first(true)));
  } else {
    gru = register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(options.in_dim(), options.hidden_dim())
                                                    .num_layers(options.num_layers())
                                                    .bidirectional(options.bidirectional())
                                                    .dropout(between)
                                                    .batch_first(true)));
  }
  reset_parameters();
}

void SequenceEncoderImpl::reset_parameters() {
  // Torch's default RNN initialisation: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)).
  if (lstm) lstm->reset_parameters();
  if (gru) gru->reset_parameters();
}

void SequenceEncoderImpl::pretty_print(std::ostream& stream) const {
  stream << "merc::nn::SequenceEncoder(cell=" << rnn_cell_name(options.cell()) << ", in_dim=" << options.in_dim()
         << ", hidden_dim=" << options.hidden_dim() << ", num_layers=" << options.num_layers()
         << ", bidirectional=" << options.bidirectional() << ", dropout=" << options.dropout()
         << ", input_dropout=" << options.input_dropout() << ")";
}

torch::Tensor SequenceEncoderImpl::forward(const torch::Tensor& x, const torch::Tensor& lengths) {
  TORCH_CHECK(x.dim() == 3 && x.size(2) == options.in_dim(), "SequenceEncoder: expected input (B, T, ",
              options.in_dim(), "), got ", x.sizes());
  TORCH_CHECK(lengths.dim() == 1 && lengths.size(0) == x.size(0), "SequenceEncoder: expected lengths (B) with B = ",
              x.size(0), ", got ", lengths.sizes());
  TORCH_CHECK(lengths.scalar_type() == torch::kInt64, "SequenceEncoder: expected int64 lengths, got ",
              lengths.scalar_type());
  const int64_t B = x.size(0), T = x.size(1);
  if (B == 0 || T == 0) return torch::zeros({B, T, out_dim()}, x.options());
  const torch::Tensor len_cpu = lengths.to(torch::kCPU);
  const int64_t min_len = len_cpu.min().item<int64_t>(), max_len = len_cpu.max().item<int64_t>();
  TORCH_CHECK(min_len >= 0 && max_len <= T, "SequenceEncoder: expected lengths in [0, ", T, "], got [", min_len,
              ", ", max_len, "]");

  const torch::Tensor input = time_shared_dropout(x, options.input_dropout(), is_training());
  // pack_padded_sequence rejects empty sequences; run them as length 1 and zero them below.
  auto packed = torch::nn::utils::rnn::pack_padded_sequence(input, len_cpu.clamp_min(1), /*batch_first=*/true,
                                                            /*enforce_sorted=*/false);
  torch::nn::utils::rnn::PackedSequence out_packed =
      lstm ? std::get<0>(lstm->forward_with_packed_input(packed)) : std::get<0>(gru->forward_with_packed_input(packed));
  torch::Tensor out = std::get<0>(torch::nn::utils::rnn::pad_packed_sequence(out_packed, /*batch_first=*/true,
                                                                              /*padding_value=*/0.0, T));
  if (min_len == 0) out = out * length_mask(len_cpu.to(x.device()), T).unsqueeze(-1).to(out.dtype());
  return out;
}

}  // namespace merc::nn
