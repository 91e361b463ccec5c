#pragma once
// hrg_ssa: HRG-SSA, "Hybrid Relational Graphs with Sentiment-laden Semantic Alignment for Multimodal
// Emotion Recognition in Conversation" (jicoder-nwpu/HRG-SSA; method_reference.md §7), in its
// classification variant (text_encoder: features, head: classify), which needs no T5:
//
//   1. windows: every real utterance t is the target of a window of its W previous utterances and
//      itself (nn/graph/context_windows.h), computed for all B*T targets at once;
//   2. hybrid relational graph per window (adjacency + same-speaker cognate relations, self loops;
//      nn/graph/hybrid_relational_graph.h);
//   3. node encoders per utterance (hrg_ssa_node_encoders.h): text tokens = one token
//      text_mapping(t_j) per utterance; audio/video nodes cross-attend to it, the text node to the
//      mapped audio/video;
//   4. emotion-forecast nodes (training only): an embedding of the node's gold label (previous
//      turns; the current turn gets the `undetermined` slot, as do unlabelled turns) plus a speaker
//      embedding; on regression data a Linear(1, d_model) of the gold score. They enter only con_u
//      (current node excluded), so labels never reach a prediction and evaluation reads none;
//   5. graph stage (hrg_ssa_graphs.h): implicit connections, con_u before and con_c after a GAT
//      per modality;
//   6. head classify: logits = Linear([text; audio; video] of the current node after the GATs).
//
// aux_losses: "con_u" = con_w * con_u and "con_c" = con_w * con_c (training forward only).
// Quirk switches (docs/models/hrg_ssa.md): gat_release_overwrite, emotion_gat_unused,
// implicit_connections (false = --no_use_relation). The generative variant (text_encoder: t5,
// head: generate) is HrgSsaGenerativeModel (hrg_ssa_generative.h); the registry builds the one the
// config names (build_hrg_ssa).

#include <string>

#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include "merc/models/hrg_ssa_graphs.h"
#include "merc/models/hrg_ssa_node_encoders.h"
#include "merc/models/model.h"
#include "merc/nn/graph/context_windows.h"
#include "merc/nn/graph/hybrid_relational_graph.h"

namespace merc::models {

struct HrgSsaConfig : ModelConfig {
  std::string text_encoder = "features";  // features | t5 (generative variant, hrg_ssa_generative.h)
  std::string head = "classify";          // classify | generate (generative variant)
  int64_t window = 2;                     // W previous utterances (MELD command; IEMOCAP 8)
  int64_t gat_layers = 3;                 // --gat (MELD 3; IEMOCAP 1)
  int64_t d_model = 128;                  // release: 768 (T5-base)
  int64_t num_heads = 4;                  // node-encoder and GAT heads (release 12)
  int64_t d_kv = 32;                      // node-encoder per-head width (release 64)
  int64_t d_ff = 256;                     // node-encoder feed-forward width (release 3072)
  int64_t node_layers = 1;                // blocks per node-encoder stack (release 6)
  double dropout = 0.1;                   // T5 dropout_rate; also the GAT's (its own value is unpublished)
  int64_t detector_dim = 64;              // implicit-connection detector out_features (unpublished)
  double con_w = 0.001;                   // weight of con_u + con_c
  double temperature = 1.0;               // InfoNCE temperature
  bool implicit_connections = true;
  bool gat_release_overwrite = false;
  bool emotion_gat_unused = false;
  // ---- Generative variant (text_encoder: t5, head: generate; models/hrg_ssa_generative.h) ----
  std::string t5_dir;                  // Hugging Face T5 folder: config.json, spiece.model, weights
  std::string label_history = "predicted";  // evaluation: predicted | gold (the release's leak) | none
  int64_t max_generate_length = 64;    // generated tokens per utterance (release 200)
  std::vector<std::string> emotion_words;   // per class; empty = the class names
  std::vector<int64_t> sentiment_map;       // per class 0 neg / 1 neu / 2 pos / -1 none (GraphSmile's convention)
  std::string speaker_template = "named";   // named ("the speaker Joey's", MELD) | gender (IEMOCAP)
  bool emotion_first = true;           // the release's -emotion_first
  int64_t history_label_cut = 11;      // label-sentence tokens dropped in history items (release resp[11:])
  int64_t max_history_tokens = 512;    // t5-base n_positions
  bool pad_labels_with_pad_id = false; // quirk switch: the release pads LM labels with the pad id (they count)
  bool fusion_single_modality_release = false;  // quirk switch: with only audio (or only video) the
                                                // release's fusion memory holds that modality's nodes only
  int64_t frozen_epochs = -1;          // epochs with the pretrained T5 frozen; -1 = epochs - 10 (release)
  double full_lr_scale = 0.6;          // lr of the all-parameters phase / first phase (3e-5 / 5e-5)
  void visit(FieldVisitor& v) override;
};

// Widths of the node encoders and GATs: the config's own (classification variant) or the T5's
// (generative variant, whose nodes live in T5's d_model).
struct HrgWidths {
  int64_t d_model = 0, d_kv = 0, num_heads = 0, d_ff = 0;
  double dropout = 0.0;  // node-encoder (T5 stack) dropout
};
// Checks the keys both variants read (window, gat_layers, con_w, dropout, temperature,
// detector_dim, node_layers); merc::Error naming the key and value.
void check_hrg_ssa_common(const HrgSsaConfig& c);
// Options of the node encoders / graph stage for the modalities `use` (index = data::Modality).
HrgNodeEncoderOptions hrg_node_encoder_options(const HrgSsaConfig& c, const ModelDims& dims,
                                               const std::array<bool, data::kNumModalities>& use, const HrgWidths& w);
HrgGraphOptions hrg_graph_options(const HrgSsaConfig& c, const std::array<bool, data::kNumModalities>& use,
                                  const HrgWidths& w);

class HrgSsaModel : public Model {
 public:
  HrgSsaModel(const HrgSsaConfig& config, const ModelDims& dims);
  // logits (B, T, C) or (B, T, 1), zeros at padding; features["fused"] = the head input (B, T, M*d).
  ModelOutput forward(const data::DialogueBatch& batch, const ForwardContext& ctx) override;

  // What the forward builds before the graph stage (tests).
  struct Windows {
    nn::ContextWindows windows;
    nn::HybridRelationalGraph graph;
    torch::Tensor positions;     // (U) flat b*T+t of each node (node_batch.h)
    torch::Tensor node_speaker;  // (U)
  };
  Windows build_windows(const data::DialogueBatch& batch) const;
  // Emotion-forecast window nodes (N, S, d) (training forward; tests).
  torch::Tensor emotion_nodes(const data::DialogueBatch& batch, const Windows& w);
  HrgSsaGraphs graphs() const { return graphs_; }

 private:
  HrgSsaConfig config_;
  ModelDims dims_;
  torch::nn::Linear text_mapping_{nullptr}, head_{nullptr}, score_mapping_{nullptr};
  torch::nn::Embedding label_embedding_{nullptr}, speaker_embedding_{nullptr};
  HrgNodeEncoders node_encoders_{nullptr};
  HrgSsaGraphs graphs_{nullptr};
};

}  // namespace merc::models
