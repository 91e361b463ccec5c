#include "merc/models/cadgl.h"

#include <string>

#include <torch/nn/functional/normalization.h>

#include "merc/core/error.h"
#include "merc/models/model_inputs.h"
#include "merc/nn/graph/dynamic_conversation_graph.h"
#include "merc/nn/graph/node_batch.h"

namespace merc::models {

void CadglConfig::visit(FieldVisitor& v) {
  ModelConfig::visit(v);
  v.field("hidden_dim", hidden_dim, "H: width of every modality encoding, graph node and imagined feature (public config 512)");
  v.field("encoder", encoder,
          "skeleton: Linear -> ReLU -> Dropout per modality (public model/cadgl.py) | draft: audio/visual "
          "Linear(d, 512) -> ReLU -> Dropout(0.2) -> Linear(512, H), text Linear(d, H) (deleted draft)");
  v.field("speaker_dim", speaker_dim, "speaker embedding width (unpublished; 0 = no speaker embedding)");
  v.field("dropout", dropout, "dropout of the encoders, the keyword extractor, the imagination MLPs and the classifier (0.3)");
  v.field("same_weight", same_weight, "graph weight between utterances of the same speaker (draft alpha1 0.8)");
  v.field("cross_weight", cross_weight, "graph weight between different speakers (draft alpha2 0.5)");
  v.field("decay", decay, "temporal decay beta of the graph weights, exp(-beta |i - j|) (draft 0.1)");
  v.field("graph_window", graph_window,
          "> 0: keep only edges with |i - j| <= window (temporal edges 1, skip edges up to the window); 0 = all pairs");
  v.field("per_dialogue", per_dialogue,
          "one graph per dialogue (true) or the draft's one dense graph over all utterances of the batch (false)");
  v.field("availability", availability,
          "availability term: λ in the node input and availability similarity in the graph (false = ablation)");
  v.field("num_layers", num_layers, "stacked graph neural ODE blocks (public config num_layers 3)");
  v.field("ode_method", ode_method, "dopri5 | rk4 | midpoint | euler (nn/ode/odeint.h)");
  v.field("rtol", rtol, "dopri5 relative tolerance (torchdiffeq default 1e-7; see docs/models/cadgl.md)");
  v.field("atol", atol, "dopri5 absolute tolerance (torchdiffeq default 1e-9)");
  v.field("step_size", step_size, "fixed-grid methods: step size on [0, 1] (0 = one step)");
  v.field("adjoint", adjoint, "gradients by the adjoint method (memory independent of the number of solver steps)");
  v.field("discrete_steps", discrete_steps, "> 0: 'no ODE' ablation, each block is K residual Euler layers");
  v.field("keywords", keywords,
          "learned (the draft's simulated LLM: MLP on [text ‖ previous context]) | precomputed (per-utterance "
          "semantic vectors, data.features semantic=DIR) | none");
  v.field("imagination", imagination, "reconstruct missing modalities (false = ablation: missing stay zeros)");
  v.field("imagination_hidden", imagination_hidden, "width of the two hidden layers of each imagination MLP (draft 512)");
  v.field("recon_detach_target", recon_detach_target,
          "the reconstruction target enc_m(x_true) is a constant (false = the draft: gradients also reach the encoder "
          "through the target)");
  v.field("classifier_context", classifier_context,
          "the classifier also reads the graph context c (false = the draft's [a ‖ v ‖ t ‖ keywords])");
  v.field("recon_weight", recon_weight, "weight of the L1 reconstruction loss on protocol-removed entries");
  v.field("align", align, "audio-text alignment loss (draft AudioCLIPAlignment)");
  v.field("align_weight", align_weight, "weight of the alignment loss");
  v.field("align_dim", align_dim, "width of the alignment projections (draft 256)");
  v.field("consist", consist, "same-label consistency loss 1 - cos over same-label pairs of the batch");
  v.field("consist_weight", consist_weight, "weight of the consistency loss");
}

namespace cadgl_detail {

// (B, T, H) -> the same with every dialogue's states shifted one utterance later: row t holds row
// t - 1, row 0 is zero (the "previous emotional state" the draft's keyword extractor reads).
torch::Tensor previous_utterance(const torch::Tensor& c) {
  return torch::cat({torch::zeros_like(c.narrow(1, 0, 1)), c.narrow(1, 0, c.size(1) - 1)}, 1);
}

nn::OdeOptions ode_options(const CadglConfig& c) {
  nn::OdeOptions o;
  o.method = nn::parse_ode_method(c.ode_method);
  o.rtol = c.rtol;
  o.atol = c.atol;
  o.step_size = c.step_size;
  return o;
}

void check_config(const CadglConfig& c) {
  MERC_CHECK(c.hidden_dim > 0, "cadgl: hidden_dim must be positive, got {}", c.hidden_dim);
  MERC_CHECK(c.encoder == "skeleton" || c.encoder == "draft", "cadgl: encoder must be skeleton or draft, got '{}'",
             c.encoder);
  MERC_CHECK(c.speaker_dim >= 0, "cadgl: speaker_dim must be >= 0, got {}", c.speaker_dim);
  MERC_CHECK(c.dropout >= 0 && c.dropout < 1, "cadgl: dropout must be in [0, 1), got {}", c.dropout);
  MERC_CHECK(c.num_layers >= 1, "cadgl: num_layers must be >= 1, got {}", c.num_layers);
  MERC_CHECK(c.rtol > 0 && c.atol > 0, "cadgl: rtol and atol must be positive, got {} and {}", c.rtol, c.atol);
  MERC_CHECK(c.keywords == "learned" || c.keywords == "precomputed" || c.keywords == "none",
             "cadgl: keywords must be learned, precomputed or none, got '{}'", c.keywords);
  MERC_CHECK(c.imagination_hidden > 0, "cadgl: imagination_hidden must be positive, got {}", c.imagination_hidden);
  MERC_CHECK(c.align_dim > 0, "cadgl: align_dim must be positive, got {}", c.align_dim);
  MERC_CHECK(c.recon_weight >= 0 && c.align_weight >= 0 && c.consist_weight >= 0,
             "cadgl: loss weights must be >= 0, got recon {}, align {}, consist {}", c.recon_weight, c.align_weight,
             c.consist_weight);
  MERC_CHECK(c.graph_window >= 0, "cadgl: graph_window must be >= 0 (0 = all pairs), got {}", c.graph_window);
  MERC_CHECK(c.discrete_steps >= 0, "cadgl: discrete_steps must be >= 0, got {}", c.discrete_steps);
}

// Mean over the rows where `rows` (B, T) is true of mean_d |a - b|; 0 (with a graph) when none.
torch::Tensor masked_l1(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& rows) {
  const torch::Tensor w = rows.to(a.scalar_type());
  const torch::Tensor per_row = (a - b).abs().mean(-1);  // (B, T)
  return (per_row * w).sum() / w.sum().clamp_min(1.0);
}

}  // namespace cadgl_detail

CadglModel::CadglModel(const CadglConfig& config, const ModelDims& dims)
    : Model("cadgl"), config_(config), dims_(dims) {
  check_dims(dims, "cadgl");
  cadgl_detail::check_config(config);
  for (data::Modality m : {data::Modality::kAudio, data::Modality::kVisual, data::Modality::kText})
    if (dims.use[static_cast<size_t>(m)]) order_.push_back(m);
  for (size_t k = 0; k < order_.size(); ++k)
    if (order_[k] == data::Modality::kText) text_index_ = static_cast<int64_t>(k);
  const int64_t H = config.hidden_dim, M = static_cast<int64_t>(order_.size());

  // 1. Encoders.
  for (size_t k = 0; k < order_.size(); ++k) {
    const std::string name = data::modality_name(order_[k]);
    const int64_t d = dims.input_dims[static_cast<size_t>(order_[k])];
    const bool two_layers = config.encoder == "draft" && order_[k] != data::Modality::kText;
    enc1_.push_back(register_module("encoder_" + name, torch::nn::Linear(d, two_layers ? 512 : H)));
    enc2_.push_back(two_layers ? register_module("encoder2_" + name, torch::nn::Linear(512, H)) : torch::nn::Linear{nullptr});
  }
  if (config.speaker_dim > 0)
    speaker_ = register_module("speaker", torch::nn::Embedding(dims.num_speakers, config.speaker_dim));

  // 2.-4. Node input and the stacked graph ODE blocks.
  node_in_ = register_module("node_in", torch::nn::Linear(M * H + (config.availability ? M : 0) + config.speaker_dim, H));
  for (int64_t l = 0; l < config.num_layers; ++l)
    ode_.push_back(register_module("ode" + std::to_string(l),
                                   nn::GraphOdeBlock(nn::GraphOdeBlockOptions(H)
                                                         .ode(cadgl_detail::ode_options(config))
                                                         .adjoint(config.adjoint)
                                                         .discrete_steps(config.discrete_steps))));

  // 5. Keywords: the learned extractor needs text; precomputed vectors need the data's semantic file.
  if (config.keywords == "learned" && text_index_ >= 0) {
    keyword1_ = register_module("keyword1", torch::nn::Linear(2 * H, H));
    keyword2_ = register_module("keyword2", torch::nn::Linear(H, H));
    use_keywords_ = true;
  } else if (config.keywords == "precomputed") {
    MERC_CHECK(dims.semantic_dim > 0,
               "cadgl: keywords=precomputed needs per-utterance semantic vectors (data.features semantic=DIR, "
               "docs/semantic_vectors.md); this dataset has none");
    keyword1_ = register_module("keyword1", torch::nn::Linear(dims.semantic_dim, H));
    use_keywords_ = true;
  }
  const int64_t K = use_keywords_ ? H : 0;

  // 6. Imagination: one 3-layer MLP per used modality from the others, keywords, context, speaker.
  if (config.imagination) {
    const int64_t in = (M - 1) * H + K + H + config.speaker_dim;
    const int64_t R = config.imagination_hidden;
    for (size_t k = 0; k < order_.size(); ++k) {
      const std::string name = std::string("imagine_") + data::modality_name(order_[k]);
      imagine_.push_back({register_module(name + "1", torch::nn::Linear(in, R)),
                          register_module(name + "2", torch::nn::Linear(R, R)),
                          register_module(name + "3", torch::nn::Linear(R, H))});
    }
  }
  const bool audio_and_text = dims.use[static_cast<size_t>(data::Modality::kAudio)] && text_index_ >= 0;
  if (config.align && config.imagination && audio_and_text) {
    align_audio_ = register_module("align_audio", torch::nn::Linear(H, config.align_dim));
    align_text_ = register_module("align_text", torch::nn::Linear(H, config.align_dim));
  }

  // 7. Classifier with its skip path.
  const int64_t z = M * H + K + (config.classifier_context ? H : 0);
  classifier_ = register_module("classifier", torch::nn::Linear(z, H));
  output_ = register_module("output", torch::nn::Linear(H, dims.output_dim()));
  skip_ = register_module("skip", torch::nn::Linear(z, dims.output_dim()));
  dropout_ = register_module("dropout", nn::Dropout(config.dropout));
}

torch::Tensor CadglModel::encode_modality(size_t k, const torch::Tensor& x, bool dropout) {
  const bool train = dropout && is_training();
  if (config_.encoder == "draft") {
    // The draft's text projection is one Linear; its audio/visual MLP has dropout 0.2 after the
    // hidden layer and no activation at the output.
    if (!enc2_[k]) return enc1_[k](x);
    return enc2_[k](nn::counter_dropout(torch::relu(enc1_[k](x)), 0.2, train));
  }
  return nn::counter_dropout(torch::relu(enc1_[k](x)), config_.dropout, train);
}

CadglModel::Encoded CadglModel::encode(const data::DialogueBatch& batch) {
  Encoded e;
  for (size_t k = 0; k < order_.size(); ++k) {
    const int64_t m = static_cast<int64_t>(order_[k]);
    const torch::Tensor x = masked_modality(batch, order_[k]);
    const torch::Tensor lambda = batch.modality_mask.select(2, m).unsqueeze(-1).to(x.scalar_type());  // (B, T, 1)
    // Multiplying by λ after encoding: enc(0) = ReLU(bias) is not zero, and a missing modality must
    // contribute exactly nothing.
    e.h.push_back(encode_modality(k, x, /*dropout=*/true) * lambda);
    e.lambda.push_back(lambda);
  }
  return e;
}

torch::Tensor CadglModel::context(const Encoded& e, const torch::Tensor& speaker, const data::DialogueBatch& batch) {
  std::vector<torch::Tensor> parts = e.h;
  const torch::Tensor lambda = torch::cat(e.lambda, 2);  // (B, T, M)
  if (config_.availability) parts.push_back(lambda);
  if (speaker.defined()) parts.push_back(speaker);
  torch::Tensor u = node_in_(torch::cat(parts, 2));  // (B, T, H)

  nn::DynamicConversationGraphOptions g;
  g.same_weight = config_.same_weight;
  g.cross_weight = config_.cross_weight;
  g.decay = config_.decay;
  g.window = config_.graph_window;
  g.per_dialogue = config_.per_dialogue;
  // Without the availability term every utterance counts as complete: cross-speaker weights are not
  // scaled by availability similarity.
  const torch::Tensor avail = config_.availability ? lambda : torch::ones_like(lambda);
  if (config_.per_dialogue) {
    const torch::Tensor A = nn::dynamic_conversation_graph_blocks(batch.lengths, batch.speaker, avail, g);
    for (auto& block : ode_) u = block(u, A);
    return u;
  }
  // The draft's whole-batch graph: one (N, N) matrix over the real utterances of all dialogues.
  const int64_t T = u.size(1);
  const torch::Tensor positions = nn::node_positions(batch.lengths, T);
  const torch::Tensor A = nn::dynamic_conversation_graph(batch.lengths, batch.speaker, avail, g);
  torch::Tensor nodes = nn::to_nodes(u, positions);
  for (auto& block : ode_) nodes = block(nodes, A);
  return nn::to_padded(nodes, positions, u.size(0), T);
}

torch::Tensor CadglModel::keywords(const Encoded& e, const torch::Tensor& c, const data::DialogueBatch& batch) {
  if (!use_keywords_) return {};
  torch::Tensor k;
  if (config_.keywords == "precomputed") {
    MERC_CHECK(batch.semantic.defined() && batch.semantic.size(-1) == dims_.semantic_dim,
               "cadgl: keywords=precomputed but the batch has no semantic vectors of width {}", dims_.semantic_dim);
    k = keyword1_(batch.semantic.to(c.scalar_type()));
  } else {
    const torch::Tensor text = e.h[static_cast<size_t>(text_index_)];
    k = keyword2_(dropout_(torch::relu(keyword1_(torch::cat({text, cadgl_detail::previous_utterance(c)}, 2)))));
  }
  // Keywords come from the transcript: an utterance whose text is missing has none (read from the
  // batch, so that precomputed vectors are masked also when the model does not read text).
  return k * batch.modality_mask.select(2, static_cast<int64_t>(data::Modality::kText)).unsqueeze(-1).to(k.scalar_type());
}

CadglModel::Imagined CadglModel::imagine(const Encoded& e, const torch::Tensor& k, const torch::Tensor& c,
                                         const torch::Tensor& speaker) {
  Imagined im;
  for (size_t m = 0; m < order_.size(); ++m) {
    if (!config_.imagination) {
      im.completed.push_back(e.h[m]);
      continue;
    }
    std::vector<torch::Tensor> parts;
    for (size_t o = 0; o < order_.size(); ++o)
      if (o != m) parts.push_back(e.h[o]);  // zeros where that modality is missing too
    if (k.defined()) parts.push_back(k);
    parts.push_back(c);
    if (speaker.defined()) parts.push_back(speaker);
    auto& f = imagine_[m];
    const torch::Tensor x = dropout_(torch::relu(f[0](torch::cat(parts, 2))));
    const torch::Tensor hat = f[2](dropout_(torch::relu(f[1](x))));
    im.imagined.push_back(hat);
    im.completed.push_back(e.h[m] + (1 - e.lambda[m]) * hat);  // e.h is already 0 where λ = 0
  }
  return im;
}

torch::Tensor CadglModel::classify(const torch::Tensor& z) {
  return output_(dropout_(torch::relu(classifier_(z)))) + skip_(z);
}

ModelOutput CadglModel::forward(const data::DialogueBatch& input, const ForwardContext&) {
  const data::DialogueBatch batch = checked_batch(input, dims_, "cadgl");
  const Encoded e = encode(batch);
  const torch::Tensor speaker = speaker_ ? speaker_(batch.speaker) : torch::Tensor();  // (B, T, S)
  const torch::Tensor c = context(e, speaker, batch);
  const torch::Tensor k = keywords(e, c, batch);
  const Imagined im = imagine(e, k, c, speaker);

  std::vector<torch::Tensor> parts = im.completed;
  if (k.defined()) parts.push_back(k);
  if (config_.classifier_context) parts.push_back(c);
  const torch::Tensor z = torch::cat(parts, 2);

  ModelOutput out;
  out.logits = zero_padding(classify(z), batch.utterance_mask);
  out.features["fused"] = zero_padding(z, batch.utterance_mask);
  out.features["context"] = zero_padding(c, batch.utterance_mask);
  for (size_t m = 0; m < im.imagined.size(); ++m)
    out.features[std::string("imagined_") + data::modality_name(order_[m])] =
        zero_padding(im.imagined[m], batch.utterance_mask);
  add_losses(out, batch, e, im, z);
  return out;
}

void CadglModel::add_losses(ModelOutput& out, const data::DialogueBatch& batch, const Encoded& e, const Imagined& im,
                            const torch::Tensor& z) {
  const torch::Tensor real = batch.utterance_mask;
  // Reconstruction: only entries the protocol removed (the data had them, the batch lost them).
  if (config_.imagination && config_.recon_weight > 0 && batch.unmasked_modality_mask.defined()) {
    torch::Tensor sum = torch::zeros({}, z.options());
    torch::Tensor count = torch::zeros({}, z.options());
    for (size_t m = 0; m < order_.size(); ++m) {
      const int64_t i = static_cast<int64_t>(order_[m]);
      const torch::Tensor removed =
          real & batch.unmasked_modality_mask.select(2, i) & batch.modality_mask.select(2, i).logical_not();
      if (!removed.any().item<bool>()) continue;
      const torch::Tensor x_true = batch.unmasked_features[static_cast<size_t>(i)];
      MERC_CHECK(x_true.defined() && x_true.sizes() == batch.features[static_cast<size_t>(i)].sizes(),
                 "cadgl: the batch's unmasked {} features are missing or have the wrong shape",
                 data::modality_name(order_[m]));
      // The target is enc_m(x_true) itself, without the encoder's dropout noise.
      torch::Tensor target = encode_modality(m, x_true, /*dropout=*/false);
      if (config_.recon_detach_target) target = target.detach();
      const torch::Tensor w = removed.to(z.scalar_type());
      sum = sum + ((im.imagined[m] - target).abs().mean(-1) * w).sum();
      count = count + w.sum();
    }
    out.aux_losses["recon"] = config_.recon_weight * sum / count.clamp_min(1.0);
  }
  if (align_audio_) {
    const size_t a = 0;  // audio is first in the draft's order whenever it is used
    const auto t = static_cast<size_t>(text_index_);
    const torch::Tensor imagined_audio = real & e.lambda[a].squeeze(-1).logical_not();
    namespace F = torch::nn::functional;
    const auto unit = F::NormalizeFuncOptions().dim(-1);
    const torch::Tensor pa = F::normalize(align_audio_(im.completed[a]), unit);
    const torch::Tensor pt = F::normalize(align_text_(im.completed[t]), unit);
    out.aux_losses["align"] = config_.align_weight * cadgl_detail::masked_l1(pa, pt, imagined_audio);
  }
  if (config_.consist && config_.consist_weight > 0 && is_training()) {
    const torch::Tensor targets = data::target_mask(batch, dims_.task).view(real.sizes());
    const torch::Tensor cls = dims_.task == data::Task::kClassification ? batch.label
                                                                         : (batch.score >= 0).to(torch::kInt64);
    const torch::Tensor idx = targets.flatten().nonzero().squeeze(1);
    const torch::Tensor zn =
        torch::nn::functional::normalize(z.flatten(0, 1).index_select(0, idx),
                                         torch::nn::functional::NormalizeFuncOptions().dim(-1).eps(1e-8));
    const torch::Tensor y = cls.flatten().index_select(0, idx);
    const torch::Tensor pairs = (y.unsqueeze(1) == y.unsqueeze(0)).triu(1).to(z.scalar_type());  // i < j
    const torch::Tensor cos = zn.mm(zn.t());
    out.aux_losses["consist"] = config_.consist_weight * ((1 - cos) * pairs).sum() / pairs.sum().clamp_min(1.0);
  }
}

nn::OdeStats CadglModel::ode_stats() const {
  nn::OdeStats total;
  for (const auto& block : ode_) {
    const nn::OdeStats& s = block->last_stats();
    total.nfe += s.nfe;
    total.accepted_steps += s.accepted_steps;
    total.rejected_steps += s.rejected_steps;
  }
  return total;
}

}  // namespace merc::models
