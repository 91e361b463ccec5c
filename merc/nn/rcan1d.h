#pragma once
// RCAN's residual group (Zhang et al., ECCV 2018, "Image Super-Resolution Using Very Deep Residual
// Channel Attention Networks") in 1-D, as RoHyDR ships it (Siowllience/RoHyDR
// trains/mainNets/model/rcan.py: CALayer, RCAB, Group) and uses it for its unimodal reconstructors
// rec_l / rec_a / rec_v (trains/mainNets/model/rohydr.py). All tensors are (N, C, L), L >= 1;
// every convolution keeps the length (kernel 3 with padding 1, or kernel 1).
//
//   ChannelAttention1d (CALayer):  x * sigmoid( conv1x1_{C/r -> C}( relu( conv1x1_{C -> C/r}( mean_L(x) ) ) ) )
//   Rcab1d (RCAB):                 x + res_scale * CA( conv3( relu( conv3(x) ) ) )
//   Rcan1dGroup (Group):           x + conv3( RCAB_B( ... RCAB_1(x) ) )          (the long residual)
//   UnimodalReconstructor:         conv1x1_{2d -> d}( Group_{2d}( conv1x1_{d -> 2d}(x) ) )
//
// All convolutions have biases and torch's default initialisation (as the reference's nn.Conv1d).
// Parameter names (named_parameters) are the reference's state_dict keys one to one:
//   Rcan1dGroup:  body.{b}.body.0.{weight (C, C, 3), bias}, body.{b}.body.2.{weight, bias}  (RCAB b's convs)
//                 body.{b}.body.3.conv_du.0.{weight (C/r, C, 1), bias}                     (CA squeeze)
//                 body.{b}.body.3.conv_du.2.{weight (C, C/r, 1), bias}                     (CA excite)
//                 body.{B}.{weight (C, C, 3), bias}                                        (final conv)
//   UnimodalReconstructor (rohydr.py's nn.Sequential rec_m): 0.{weight (2d, d, 1), bias},
//                 1.<Rcan1dGroup names>, 2.{weight (d, 2d, 1), bias}; so rec_l.K... maps to K...

#include <cstdint>
#include <iosfwd>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace merc::nn {

// CALayer: channel attention by squeeze (mean over time) and excitation. channels / reduction >= 1.
class ChannelAttention1dImpl : public torch::nn::Cloneable<ChannelAttention1dImpl> {
 public:
  ChannelAttention1dImpl(int64_t channels, int64_t reduction);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  // x (N, C, L) -> (N, C, L)
  torch::Tensor forward(const torch::Tensor& x);

  int64_t channels;
  int64_t reduction;
  torch::nn::Sequential conv_du{nullptr};  // 0: Conv1d(C, C/r, 1), 1: ReLU, 2: Conv1d(C/r, C, 1), 3: Sigmoid
};
TORCH_MODULE(ChannelAttention1d);

// RCAB: residual channel-attention block.
class Rcab1dImpl : public torch::nn::Cloneable<Rcab1dImpl> {
 public:
  Rcab1dImpl(int64_t channels, int64_t reduction, double res_scale = 1.0);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  // x (N, C, L) -> (N, C, L)
  torch::Tensor forward(const torch::Tensor& x);

  int64_t channels;
  int64_t reduction;
  double res_scale;
  torch::nn::Sequential body{nullptr};  // 0: Conv1d(C, C, 3, pad 1), 1: ReLU, 2: Conv1d(C, C, 3, pad 1), 3: CA
};
TORCH_MODULE(Rcab1d);

// Group: num_blocks RCABs, a final Conv1d(C, C, 3, pad 1) and the long residual.
class Rcan1dGroupImpl : public torch::nn::Cloneable<Rcan1dGroupImpl> {
 public:
  // channels >= 1, num_blocks >= 0, 1 <= reduction <= channels. Bad values -> merc::Error.
  Rcan1dGroupImpl(int64_t channels, int64_t num_blocks, int64_t reduction, double res_scale = 1.0);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  // x (N, C, L), L >= 1 -> (N, C, L). Bad shapes -> merc::Error.
  torch::Tensor forward(const torch::Tensor& x);

  int64_t channels;
  int64_t num_blocks;
  int64_t reduction;
  double res_scale;
  torch::nn::Sequential body{nullptr};  // 0..B-1: Rcab1d, B: Conv1d(C, C, 3, pad 1)
};
TORCH_MODULE(Rcan1dGroup);

// RoHyDR's unimodal reconstructor rec_m: Conv1d(d, 2d, 1) -> Rcan1dGroup(2d, num_blocks, reduction)
// -> Conv1d(2d, d, 1). RoHyDR: d = 32, 20 blocks, reduction 16.
class UnimodalReconstructorImpl : public torch::nn::Cloneable<UnimodalReconstructorImpl> {
 public:
  explicit UnimodalReconstructorImpl(int64_t dim, int64_t num_blocks = 20, int64_t reduction = 16);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  // x (N, d, L), L >= 1 -> (N, d, L). Bad shapes -> merc::Error.
  torch::Tensor forward(const torch::Tensor& x);

  int64_t dim;
  int64_t num_blocks;
  int64_t reduction;
  torch::nn::Conv1d expand{nullptr};  // registered as "0": d -> 2d, kernel 1
  Rcan1dGroup group{nullptr};         // registered as "1"
  torch::nn::Conv1d reduce{nullptr};  // registered as "2": 2d -> d, kernel 1
};
TORCH_MODULE(UnimodalReconstructor);

}  // namespace merc::nn
