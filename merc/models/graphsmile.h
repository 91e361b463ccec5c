#pragma once
// graphsmile: GraphSmile (Li, Wang, Zeng, TPAMI 2025, "Tracing intricate cues in dialogue: Joint
// graph structure and sentiment dynamics for multimodal emotion recognition"; public code
// lijfrank-open/GraphSmile model.py, module.py, trainer.py, read for this port):
//
//   1. text: BatchNorm per RoBERTa layer (text_layers equal-width slices of the text feature),
//      combined by text_mode (textf0 = first layer only, the published setting);
//      every used modality m: f_m = Dropout(LeakyReLU(W_m x_m + b_m))        (N, H) nodes
//   2. GSF: one heterogeneous graph per pair of used modalities, (t,v), (t,a), (v,a): nodes
//      [f_m ; f_n], inter-modal window edges only (nn/graph/heter_window_edges.h), heter_layers[p]
//      layers of  x <- Â (x W) + b  with the running sum of MLP outputs (nn/graph/heter_graph_conv.h)
//   3. fusion: z = mean over the 6 graph outputs (tv_t, ta_t, tv_v, va_v, ta_a, va_a) of
//      LeakyReLU(W_f o + b_f), one shared W_f
//   4. heads: emotion logits W_e z (the task output), sentiment logits W_s z (3 classes), and the
//      sentiment-dynamics head SDP: for every ordered pair (i, j) of a chunk of shift_window
//      utterances (nn/graph/chunk_pairs.h), W_p [z_i ; z_j] -> 2 classes "sentiment shifts"
//   5. loss: emotion_weight * task loss + sentiment_weight * NLL(sentiment) + shift_weight *
//      NLL(shift); the trainer applies the first weight (ModelOutput::task_loss_weight), the other
//      two come back already weighted in aux_losses "sentiment" and "shift". Sentiments are derived
//      from the labels or scores (models/graphsmile_sentiment.h); without a sentiment_map on a
//      classification dataset both auxiliary heads are off (not built).
//
// Modality subsets (the public code always uses all three): with two modalities there is one
// graph and the fusion averages its two outputs; with one modality there is no heterogeneous pair,
// so f_m goes straight to the fusion layer (z = LeakyReLU(W_f f_m + b_f)).
//
// Code quirks reproduced by default, each with a switch (docs/models/graphsmile.md):
//   bn_over_padding      BatchNorm statistics over the padded (B T) rows, zeros included
//   edge_weights         position-indexed learnable edge weights ("position") or 1 ("ones")
//   identical_layer_init the layers and MLPs of one graph start as copies of one module

#include <string>
#include <vector>

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

#include "merc/models/model.h"
#include "merc/nn/graph/heter_graph_conv.h"

namespace merc::models {

struct GraphSmileConfig : ModelConfig {
  int64_t hidden_dim = 512;
  double dropout = 0.2;
  int64_t text_layers = 1;
  std::string text_mode = "textf0";
  bool text_batchnorm = true;
  bool bn_over_padding = true;
  int64_t window_past = 17;
  int64_t window_future = 17;
  std::vector<int64_t> heter_layers = {7, 7, 7};
  std::string edge_weights = "position";
  int64_t edge_weight_slots = 500000;
  bool identical_layer_init = true;
  int64_t shift_window = 19;
  double emotion_weight = 1.0;
  double sentiment_weight = 1.0;
  double shift_weight = 0.7;
  std::vector<int64_t> sentiment_map;
  void visit(FieldVisitor& v) override;
};

class GraphSmileModel : public Model {
 public:
  GraphSmileModel(const GraphSmileConfig& config, const ModelDims& dims);
  // logits (B, T, C) or (B, T, 1), zeros at padding; features["fused"] = z (B, T, H);
  // aux_losses "sentiment" and "shift" (weighted) when the heads are on and the weights > 0.
  ModelOutput forward(const data::DialogueBatch& batch, const ForwardContext& ctx) override;

 private:
  struct TextPlan {
    std::vector<int64_t> layers;  // text layers read
    bool concat = false;          // concatenate them before the projection (else average projections)
  };
  torch::Tensor text_nodes(const data::DialogueBatch& batch, const torch::Tensor& positions);
  torch::Tensor project(int m, const torch::Tensor& x);

  GraphSmileConfig config_;
  ModelDims dims_;
  TextPlan text_plan_;
  std::vector<int> used_;                                   // used modalities, in order t, a, v
  std::vector<torch::nn::BatchNorm1d> text_bn_;             // one per text layer read
  std::array<torch::nn::Linear, data::kNumModalities> proj_{nullptr, nullptr, nullptr};
  struct Graph {
    int m, n;  // modality blocks [f_m ; f_n]
    nn::HeterGraphConv conv{nullptr};
  };
  std::vector<Graph> graphs_;
  torch::nn::Linear fusion_{nullptr};
  torch::nn::Linear emotion_head_{nullptr};
  torch::nn::Linear sentiment_head_{nullptr};  // absent when the sentiment loss is off
  torch::nn::Linear shift_head_{nullptr};      // absent when the shift loss is off
};

}  // namespace merc::models
