#pragma once
// HRG-SSA's modality node encoders (jicoder-nwpu/HRG-SSA model.py + runner.process_batch;
// method_reference.md §7.2): T5 decoder-style stacks (causal self-attention, cross-attention,
// feed-forward; merc/nn/t5/stack.h) over mapped inputs, one node feature per item (an utterance of
// a window). For item j with text tokens X_j (L_j, d_model) and raw audio a_j / video v_j:
//
//   audio node  = audio_encoder( audio_mapping(a_j) ; memory X_j )   (a 1-token sequence)
//   video node  = video_encoder( video_mapping(v_j) ; memory X_j )
//   text node   = text_encoder( X_j ; memory [audio_mapping(a_j) ; video_mapping(v_j)] ) at X_j's
//                 last real token (the mapped vectors, not the audio/video nodes, as the release)
//
// Modalities a run does not use are left out: without audio and video the text node is X_j's last
// token itself (the release skips text_encoder then); without text the audio/video stacks have no
// memory, so they are built as encoder stacks (self-attention + feed-forward: for their 1-token
// input the same as a decoder block without its cross-attention).
//
// The text tokens come from the caller: T5 encoder states of "<speaker>: <utterance>" items in the
// generative variant, one mapped feature vector per utterance in the features variant, so nothing
// here assumes one token per node. Mapping init as the release: weight normal std (dim * d_model)^-1/2,
// bias 0; the stacks keep merc::nn::t5's initialisation.

#include <array>
#include <cstdint>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "merc/data/dataset.h"
#include "merc/nn/t5/stack.h"

namespace merc::models {

struct HrgNodeEncoderOptions {
  int64_t d_model = 128;
  int64_t d_kv = 32;
  int64_t num_heads = 4;
  int64_t d_ff = 256;
  int64_t num_layers = 1;   // release: 6 per stack
  double dropout = 0.1;     // T5 dropout_rate
  std::array<bool, data::kNumModalities> use{};  // text, audio, visual
  int64_t audio_dim = 0;    // raw widths (used modalities only)
  int64_t video_dim = 0;
};

struct HrgNodeInput {
  torch::Tensor text_tokens;  // (U, L, d_model) items' text tokens (used when text is)
  torch::Tensor text_mask;    // (U, L) 1/0 or bool, real tokens first; undefined = all real
  torch::Tensor audio;        // (U, audio_dim) raw audio (used when audio is)
  torch::Tensor video;        // (U, video_dim) raw video
};

// Node features per modality, (U, d_model); undefined for an unused modality (index = data::Modality).
using HrgNodeFeatures = std::array<torch::Tensor, data::kNumModalities>;

// (U, L, D) states -> (U, D) at each row's last real token; mask (U, L) 1/0 or bool with the real
// tokens first (undefined = all real). The text node, and the generative variant's emotion-forecast nodes.
torch::Tensor hrg_last_token(const torch::Tensor& states, const torch::Tensor& mask);

class HrgNodeEncodersImpl : public torch::nn::Cloneable<HrgNodeEncodersImpl> {
 public:
  explicit HrgNodeEncodersImpl(const HrgNodeEncoderOptions& options);
  void reset() override;
  HrgNodeFeatures forward(const HrgNodeInput& input);

  HrgNodeEncoderOptions options;
  // Release names; null when the modality (or, for text_encoder, both other modalities) is unused.
  torch::nn::Linear audio_mapping{nullptr}, video_mapping{nullptr};
  nn::t5::Stack text_encoder{nullptr}, audio_encoder{nullptr}, video_encoder{nullptr};
};
TORCH_MODULE(HrgNodeEncoders);

}  // namespace merc::models
