#include "merc/models/hrg_ssa.h"

#include <cmath>

#include "merc/core/error.h"
#include "merc/models/model_inputs.h"
#include "merc/nn/graph/node_batch.h"

namespace merc::models {

void HrgSsaConfig::visit(FieldVisitor& v) {
  ModelConfig::visit(v);
  v.field("text_encoder", text_encoder,
          "features = the dataset's text features, one token per utterance (classification variant); t5 = the "
          "generative variant (with head: generate)");
  v.field("head", head, "classify = a linear head on the current node's [text; audio; video]; generate = the "
                        "generative variant (T5 writes a label sentence; with text_encoder: t5)");
  v.field("window", window, "previous utterances in each window (-window_size; MELD 2, IEMOCAP 8)");
  v.field("gat_layers", gat_layers, "GAT layers per modality (--gat; MELD 3, IEMOCAP 1; 0 = no GAT)");
  v.field("d_model", d_model, "node width (T5-base 768)");
  v.field("num_heads", num_heads, "attention heads of the node encoders and the GATs (release 12)");
  v.field("d_kv", d_kv, "node-encoder per-head width (release 64)");
  v.field("d_ff", d_ff, "node-encoder feed-forward width (release 3072)");
  v.field("node_layers", node_layers, "blocks per node-encoder stack (release 6)");
  v.field("dropout", dropout, "dropout of the node encoders (T5 dropout_rate) and the GATs");
  v.field("detector_dim", detector_dim, "implicit-connection detector width (edge_r_config out_features, unpublished)");
  v.field("con_w", con_w, "weight of the SSA losses con_u + con_c (release 0.001)");
  v.field("temperature", temperature, "InfoNCE temperature (release 1)");
  v.field("implicit_connections", implicit_connections,
          "add the implicit-connection detector's edges (false = the release's --no_use_relation)");
  v.field("gat_release_overwrite", gat_release_overwrite,
          "quirk switch: true = the release's GAT, whose aggregation is overwritten (x + Dropout(Linear(RMSNorm("
          "Dropout(x)))), edges unused); false = a working GAT");
  v.field("emotion_gat_unused", emotion_gat_unused,
          "quirk switch: true = build and run the release's emotion GAT, whose output is never used");
  v.field("t5_dir", t5_dir,
          "generative variant: a Hugging Face T5 folder (config.json, spiece.model, model.safetensors or "
          "pytorch_model.bin), e.g. google-t5/t5-base, or one made by `merc t5 init`");
  v.field("label_history", label_history,
          "generative variant, evaluation: the label sentences of previous turns in the input are the model's own "
          "predictions (predicted), the gold labels (gold: the release's evaluation, test labels leak into the input; "
          "every output says so), or left out (none, also in training)");
  v.field("max_generate_length", max_generate_length,
          "generative variant: generated tokens per utterance (release 200)");
  v.field("emotion_words", emotion_words,
          "generative variant: the word of each class in label sentences; empty = the class names");
  v.field("sentiment_map", sentiment_map,
          "generative variant: sentiment per class (0 negative, 1 neutral, 2 positive, -1 undetermined); empty = "
          "undetermined");
  v.field("speaker_template", speaker_template,
          "generative variant: named (\"the speaker Joey's\", MELD) or gender (\"the male speaker's\", IEMOCAP)");
  v.field("emotion_first", emotion_first,
          "generative variant: the emotion clause first (the release's -emotion_first)");
  v.field("history_label_cut", history_label_cut,
          "generative variant: label-sentence tokens dropped from history items (release resp[11:])");
  v.field("max_history_tokens", max_history_tokens, "generative variant: history input tokens kept (the most recent)");
  v.field("pad_labels_with_pad_id", pad_labels_with_pad_id,
          "quirk switch (generative): pad LM labels with the pad id as the release does, so padding enters the loss");
  v.field("fusion_single_modality_release", fusion_single_modality_release,
          "quirk switch (generative): with audio but not video (or the reverse) the fusion memory holds only that "
          "modality's nodes, as the release's code does; false = text nodes too");
  v.field("frozen_epochs", frozen_epochs,
          "generative variant: first epochs with the pretrained T5 frozen (release: epochs - 10 = -1); 0 for a T5 "
          "trained from scratch");
  v.field("full_lr_scale", full_lr_scale,
          "generative variant: lr of the all-parameters phase relative to train.lr (release 3e-5 / 5e-5 = 0.6)");
}

namespace hrg_ssa_detail {
constexpr int kT = static_cast<int>(data::Modality::kText);
constexpr int kA = static_cast<int>(data::Modality::kAudio);
constexpr int kV = static_cast<int>(data::Modality::kVisual);
}  // namespace hrg_ssa_detail

void check_hrg_ssa_common(const HrgSsaConfig& c) {
  MERC_CHECK(c.window >= 0 && c.gat_layers >= 0, "hrg_ssa: window and gat_layers must be >= 0, got {}, {}", c.window,
             c.gat_layers);
  MERC_CHECK(c.con_w >= 0, "hrg_ssa: con_w must be >= 0, got {}", c.con_w);
  MERC_CHECK(c.dropout >= 0 && c.dropout < 1, "hrg_ssa: dropout must be in [0, 1), got {}", c.dropout);
  MERC_CHECK(c.temperature > 0 && c.detector_dim > 0 && c.node_layers >= 1,
             "hrg_ssa: temperature, detector_dim and node_layers must be positive, got {}, {}, {}", c.temperature,
             c.detector_dim, c.node_layers);
}

HrgNodeEncoderOptions hrg_node_encoder_options(const HrgSsaConfig& c, const ModelDims& dims,
                                               const std::array<bool, data::kNumModalities>& use, const HrgWidths& w) {
  using namespace hrg_ssa_detail;
  HrgNodeEncoderOptions n;
  n.d_model = w.d_model;
  n.d_kv = w.d_kv;
  n.num_heads = w.num_heads;
  n.d_ff = w.d_ff;
  n.num_layers = c.node_layers;
  n.dropout = w.dropout;
  n.use = use;
  n.audio_dim = use[kA] ? dims.input_dims[kA] : 0;
  n.video_dim = use[kV] ? dims.input_dims[kV] : 0;
  return n;
}

HrgGraphOptions hrg_graph_options(const HrgSsaConfig& c, const std::array<bool, data::kNumModalities>& use,
                                  const HrgWidths& w) {
  HrgGraphOptions g;
  g.use = use;
  g.gat.d_model = w.d_model;
  g.gat.num_heads = w.num_heads;
  g.gat.dropout = c.dropout;
  g.gat.release_overwrite = c.gat_release_overwrite;
  g.gat.num_layers = c.gat_layers;
  g.detector.in_features = w.d_model;
  g.detector.out_features = c.detector_dim;
  g.implicit_connections = c.implicit_connections;
  g.emotion_gat_unused = c.emotion_gat_unused;
  g.temperature = c.temperature;
  return g;
}

HrgSsaModel::HrgSsaModel(const HrgSsaConfig& c, const ModelDims& dims) : Model("hrg_ssa"), config_(c), dims_(dims) {
  using namespace hrg_ssa_detail;
  check_dims(dims, "hrg_ssa");
  MERC_CHECK(c.text_encoder == "features" || c.text_encoder == "t5",
             "hrg_ssa: text_encoder must be features or t5, got '{}'", c.text_encoder);
  MERC_CHECK(c.head == "classify" || c.head == "generate", "hrg_ssa: head must be classify or generate, got '{}'",
             c.head);
  MERC_CHECK(c.text_encoder == "features" && c.head == "classify",
             "hrg_ssa: text_encoder '{}' with head '{}': the classification variant is text_encoder: features with "
             "head: classify, the generative variant text_encoder: t5 with head: generate",
             c.text_encoder, c.head);
  MERC_CHECK(c.d_model > 0 && c.num_heads > 0 && c.d_model % c.num_heads == 0,
             "hrg_ssa: d_model {} must be a positive multiple of num_heads {}", c.d_model, c.num_heads);
  MERC_CHECK(c.d_kv > 0 && c.d_ff > 0, "hrg_ssa: d_kv and d_ff must be positive, got {}, {}", c.d_kv, c.d_ff);
  check_hrg_ssa_common(c);
  const int64_t d = c.d_model;

  const HrgWidths widths{c.d_model, c.d_kv, c.num_heads, c.d_ff, c.dropout};
  if (dims.use[kT]) {
    const int64_t in = dims.input_dims[kT];
    text_mapping_ = register_module("text_mapping", torch::nn::Linear(in, d));
    torch::NoGradGuard no_grad;  // the release's mapping init (audio/video_mapping)
    text_mapping_->weight.normal_(0.0, std::pow(static_cast<double>(in * d), -0.5));
    text_mapping_->bias.zero_();
  }
  node_encoders_ =
      register_module("node_encoders", HrgNodeEncoders(hrg_node_encoder_options(c, dims, dims.use, widths)));
  graphs_ = register_module("graphs", HrgSsaGraphs(hrg_graph_options(c, dims.use, widths)));

  // Emotion-forecast nodes: label slots 0..C-1 and `undetermined` (slot C; slot 0 on regression data).
  const bool regression = dims.task == data::Task::kRegression;
  label_embedding_ = register_module("label_embedding", torch::nn::Embedding(regression ? 1 : dims.num_classes + 1, d));
  if (regression) score_mapping_ = register_module("score_mapping", torch::nn::Linear(1, d));
  speaker_embedding_ = register_module("speaker_embedding", torch::nn::Embedding(dims.num_speakers, d));
  head_ = register_module("head", torch::nn::Linear(dims.num_used() * d, dims.output_dim()));
}

HrgSsaModel::Windows HrgSsaModel::build_windows(const data::DialogueBatch& batch) const {
  Windows w;
  const int64_t T = batch.utterance_mask.size(1);
  w.positions = nn::node_positions(batch.lengths, T);
  w.node_speaker = batch.speaker.reshape({-1}).index_select(0, w.positions);
  w.windows = nn::context_windows(batch.lengths, config_.window);
  w.graph = nn::hybrid_relational_graph(w.windows, w.node_speaker);
  return w;
}

torch::Tensor HrgSsaModel::emotion_nodes(const data::DialogueBatch& batch, const Windows& w) {
  const torch::Tensor speaker = speaker_embedding_(w.node_speaker);  // (U, d)
  const auto device = speaker.device();
  torch::Tensor gold;
  torch::Tensor undetermined;
  if (score_mapping_) {
    const torch::Tensor score = batch.score.reshape({-1}).index_select(0, w.positions);
    const torch::Tensor known = torch::isfinite(score).unsqueeze(1);
    undetermined = label_embedding_(torch::zeros({1}, torch::TensorOptions().dtype(torch::kInt64).device(device)));
    gold = torch::where(known, score_mapping_(torch::nan_to_num(score).unsqueeze(1)), undetermined);
  } else {
    const int64_t C = dims_.num_classes;
    const torch::Tensor label = batch.label.reshape({-1}).index_select(0, w.positions);
    gold = label_embedding_(torch::where(label >= 0, label, torch::full_like(label, C)));
    undetermined = label_embedding_(torch::full({1}, C, torch::TensorOptions().dtype(torch::kInt64).device(device)));
  }
  const torch::Tensor previous = nn::gather_windows(gold + speaker, w.windows);
  const torch::Tensor current = nn::gather_windows(undetermined + speaker, w.windows);
  return torch::where(nn::current_slot_mask(w.windows).unsqueeze(2), current, previous);
}

ModelOutput HrgSsaModel::forward(const data::DialogueBatch& input, const ForwardContext&) {
  using namespace hrg_ssa_detail;
  const data::DialogueBatch batch = checked_batch(input, dims_, "hrg_ssa");
  const int64_t B = batch.utterance_mask.size(0), T = batch.utterance_mask.size(1);
  const Windows w = build_windows(batch);
  auto nodes_of = [&](int m) {
    return nn::to_nodes(masked_modality(batch, static_cast<data::Modality>(m)), w.positions);
  };

  // Node encoders, once per utterance; windows gather their nodes afterwards.
  HrgNodeInput ni;
  if (dims_.use[kT]) ni.text_tokens = text_mapping_(nodes_of(kT)).unsqueeze(1);  // (U, 1, d): one token
  if (dims_.use[kA]) ni.audio = nodes_of(kA);
  if (dims_.use[kV]) ni.video = nodes_of(kV);
  const HrgNodeFeatures features = node_encoders_(ni);

  HrgGraphInput gi;
  for (int m = 0; m < data::kNumModalities; ++m)
    if (dims_.use[m]) gi.nodes[m] = nn::gather_windows(features[m], w.windows);
  gi.adjacency = w.graph.adjacency;
  gi.mask = w.windows.mask;
  gi.losses = is_training();
  if (gi.losses) gi.emotion = emotion_nodes(batch, w);
  const HrgGraphOutput g = graphs_(gi);

  std::vector<torch::Tensor> current;
  for (int m = 0; m < data::kNumModalities; ++m)
    if (dims_.use[m]) current.push_back(nn::current_slot(g.nodes[m], w.windows));
  const torch::Tensor z = torch::cat(current, 1);  // (U, M*d), node order = window order
  ModelOutput out;
  out.logits = nn::to_padded(head_(z), w.positions, B, T);
  out.features["fused"] = nn::to_padded(z, w.positions, B, T);
  if (g.con_u.defined()) out.aux_losses["con_u"] = config_.con_w * g.con_u;
  if (g.con_c.defined()) out.aux_losses["con_c"] = config_.con_w * g.con_c;
  return out;
}

}  // namespace merc::models
