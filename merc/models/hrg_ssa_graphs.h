#pragma once
// HRG-SSA's graph and alignment stage (jicoder-nwpu/HRG-SSA runner.train after process_batch;
// method_reference.md §7.2, §7.4), shared by the classification (features) and generative variants:
// window node features in, window node features out.
//
//   1. per used modality m (and the emotion-forecast nodes when the unused emotion GAT is built):
//      adjacency_m = hybrid graph + implicit connections detected on m's nodes (if enabled)
//   2. con_u = InfoNCE(text, emo) + InfoNCE(audio, emo) + InfoNCE(video, emo)  (current node
//      excluded; on the node features BEFORE the GATs)
//   3. nodes_m <- GAT_m(nodes_m, adjacency_m)   (a separate GAT per modality)
//   4. con_c = InfoNCE(audio, text) + InfoNCE(video, text) + InfoNCE(audio, video)  (after the GATs)
//
// Terms of modalities a run does not use are left out; con_u needs the emotion nodes. The release
// also runs an emotion GAT on the emotion nodes and never uses its output (emotion_gat_unused builds
// and runs it; its parameters then get no gradient, as in the release).

#include <array>
#include <cstdint>

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "merc/data/dataset.h"
#include "merc/nn/graph/context_windows.h"
#include "merc/nn/graph/implicit_connections.h"
#include "merc/nn/graph/window_gat.h"

namespace merc::models {

struct HrgGraphOptions {
  std::array<bool, data::kNumModalities> use{};
  nn::WindowGatOptions gat;                  // d_model, heads, dropout, release_overwrite, num_layers
  nn::ImplicitConnectionOptions detector;    // in_features = gat.d_model
  bool implicit_connections = true;          // false = the release's --no_use_relation
  bool emotion_gat_unused = false;           // build and run the release's unused emotion GAT
  double temperature = 1.0;                  // InfoNCE temperature
};

struct HrgGraphInput {
  std::array<torch::Tensor, data::kNumModalities> nodes;  // (N, S, d) per used modality, zeros in empty slots
  torch::Tensor emotion;     // (N, S, d) emotion-forecast nodes; undefined = no con_u
  torch::Tensor adjacency;   // (N, S, S) bool hybrid graph [target][source]
  torch::Tensor mask;        // (N, S) bool real slots
  bool losses = true;        // compute con_u / con_c
};

struct HrgGraphOutput {
  std::array<torch::Tensor, data::kNumModalities> nodes;      // (N, S, d) after the GATs
  std::array<torch::Tensor, data::kNumModalities> adjacency;  // (N, S, S) per modality, implicit edges added
  torch::Tensor emotion_gat;  // (N, S, d) output of the unused emotion GAT (undefined unless built)
  torch::Tensor con_u, con_c; // scalars (undefined when not computed or no term applies)
};

class HrgSsaGraphsImpl : public torch::nn::Cloneable<HrgSsaGraphsImpl> {
 public:
  explicit HrgSsaGraphsImpl(const HrgGraphOptions& options);
  void reset() override;
  HrgGraphOutput forward(const HrgGraphInput& input);

  HrgGraphOptions options;
  // Release names text_/audio_/video_/emotion_ + gat / edge_relation; null when not built.
  std::array<nn::WindowGat, data::kNumModalities> gat{nullptr, nullptr, nullptr};
  std::array<nn::ImplicitConnectionDetector, data::kNumModalities> edge_relation{nullptr, nullptr, nullptr};
  nn::WindowGat emotion_gat{nullptr};
  nn::ImplicitConnectionDetector emotion_edge_relation{nullptr};
};
TORCH_MODULE(HrgSsaGraphs);

}  // namespace merc::models
