#include "merc/models/hrg_ssa_node_encoders.h"

#include <cmath>

#include "merc/core/error.h"

namespace merc::models {

namespace hrg_node_detail {
constexpr int kText = static_cast<int>(data::Modality::kText);
constexpr int kAudio = static_cast<int>(data::Modality::kAudio);
constexpr int kVideo = static_cast<int>(data::Modality::kVisual);

nn::t5::StackOptions stack_options(const HrgNodeEncoderOptions& o, bool decoder) {
  nn::t5::StackOptions s;
  s.num_layers = o.num_layers;
  s.block.is_decoder = decoder;
  s.block.attention.d_model = o.d_model;
  s.block.attention.d_kv = o.d_kv;
  s.block.attention.num_heads = o.num_heads;
  s.block.attention.dropout = o.dropout;
  s.block.feed_forward.d_model = o.d_model;
  s.block.feed_forward.d_ff = o.d_ff;
  s.block.feed_forward.dropout = o.dropout;
  return s;
}

torch::nn::Linear mapping(int64_t in, int64_t d_model) {
  torch::nn::Linear m(in, d_model);
  torch::NoGradGuard no_grad;
  m->weight.normal_(0.0, std::pow(static_cast<double>(in * d_model), -0.5));
  m->bias.zero_();
  return m;
}

}  // namespace hrg_node_detail

torch::Tensor hrg_last_token(const torch::Tensor& states, const torch::Tensor& mask) {
  const int64_t U = states.size(0), L = states.size(1);
  const torch::Tensor last = mask.defined() ? mask.to(torch::kInt64).sum(1) - 1
                                            : torch::full({U}, L - 1, states.options().dtype(torch::kInt64));
  return states.gather(1, last.clamp_min(0).view({U, 1, 1}).expand({U, 1, states.size(2)})).squeeze(1);
}

HrgNodeEncodersImpl::HrgNodeEncodersImpl(const HrgNodeEncoderOptions& o) : options(o) { reset(); }

void HrgNodeEncodersImpl::reset() {
  using namespace hrg_node_detail;
  const auto& o = options;
  MERC_CHECK(o.use[kText] || o.use[kAudio] || o.use[kVideo], "hrg_ssa node encoders: no modality is used");
  MERC_CHECK(o.d_model > 0 && o.num_layers >= 1, "hrg_ssa node encoders: d_model and node_layers must be positive, got {}, {}",
             o.d_model, o.num_layers);
  const bool text = o.use[kText];
  if (o.use[kAudio]) {
    MERC_CHECK(o.audio_dim > 0, "hrg_ssa node encoders: audio_dim must be positive, got {}", o.audio_dim);
    audio_mapping = register_module("audio_mapping", mapping(o.audio_dim, o.d_model));
    audio_encoder = register_module("audio_encoder", nn::t5::Stack(stack_options(o, text)));
  }
  if (o.use[kVideo]) {
    MERC_CHECK(o.video_dim > 0, "hrg_ssa node encoders: video_dim must be positive, got {}", o.video_dim);
    video_mapping = register_module("video_mapping", mapping(o.video_dim, o.d_model));
    video_encoder = register_module("video_encoder", nn::t5::Stack(stack_options(o, text)));
  }
  if (text && (o.use[kAudio] || o.use[kVideo]))
    text_encoder = register_module("text_encoder", nn::t5::Stack(stack_options(o, true)));
}

HrgNodeFeatures HrgNodeEncodersImpl::forward(const HrgNodeInput& in) {
  using namespace hrg_node_detail;
  const auto& o = options;
  HrgNodeFeatures out;
  const bool text = o.use[kText];
  if (text)
    MERC_CHECK(in.text_tokens.dim() == 3 && in.text_tokens.size(2) == o.d_model,
               "hrg_ssa node encoders: text tokens must be (U, L, {}), got {}", o.d_model, in.text_tokens.sizes());
  std::vector<torch::Tensor> mapped;  // memory of the text encoder, 1 token per other modality
  auto encode = [&](const torch::Tensor& raw, torch::nn::Linear& map, nn::t5::Stack& stack, int64_t dim,
                    const char* name) {
    MERC_CHECK(raw.dim() == 2 && raw.size(1) == dim, "hrg_ssa node encoders: {} must be (U, {}), got {}", name, dim,
               raw.sizes());
    const torch::Tensor m = map(raw).unsqueeze(1);  // (U, 1, d)
    mapped.push_back(m);
    nn::t5::StackInput s;
    s.embeddings = m;
    if (text) {
      s.memory = in.text_tokens;
      s.memory_mask = in.text_mask;
    }
    return stack->forward(s).states.squeeze(1);
  };
  if (o.use[kAudio]) out[kAudio] = encode(in.audio, audio_mapping, audio_encoder, o.audio_dim, "audio");
  if (o.use[kVideo]) out[kVideo] = encode(in.video, video_mapping, video_encoder, o.video_dim, "video");
  if (text) {
    torch::Tensor states = in.text_tokens;
    if (text_encoder) {
      nn::t5::StackInput s;
      s.embeddings = in.text_tokens;
      s.padding_mask = in.text_mask;
      s.memory = torch::cat(mapped, 1);
      states = text_encoder->forward(s).states;
    }
    out[kText] = hrg_last_token(states, in.text_mask);
  }
  return out;
}

}  // namespace merc::models
