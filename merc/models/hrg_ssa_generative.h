#pragma once
// hrg_ssa, generative variant (text_encoder: t5, head: generate): HRG-SSA as published
// (jicoder-nwpu/HRG-SSA; method_reference.md §7). A T5 encoder-decoder writes a label sentence for
// every utterance; the emotion word after <bos_emotion> is the prediction.
//
// Per target utterance t (window W, nodes j = t-W..t; strings and tokens: hrg_ssa_text.h,
// hrg_ssa_samples.h):
//   1. every utterance's text item, in its current role ("<speaker>: <text>") and its previous role
//      (+ its label sentence after the cut), is encoded by the T5 encoder (U x 2 items per batch);
//   2. node encoders (hrg_ssa_node_encoders.h) turn item states + raw audio/video into node
//      features; windows take the previous-role features for earlier slots and the current-role
//      ones for the target slot;
//   3. emotion-forecast strings, encoded by the T5 encoder at their last token, are the emotion
//      nodes (training only: they enter con_u alone);
//   4. graph stage (hrg_ssa_graphs.h): hybrid graph + implicit connections, con_u, GATs, con_c;
//   5. the T5 encoder reads the history (the window's items concatenated); the decoder
//      cross-attends to it and, in blocks >= num_layers/2, to the fused window nodes [text; audio;
//      video] (the extra cross-attention, layer.3);
//   6. training: teacher-forced LM loss on the target sentence (aux loss "lm"; the trainer's task
//      loss is off) + con_w (con_u + con_c); logits = the LM's scores of each class word's first
//      token at the emotion position (training metrics only);
//      evaluation: greedy generation, parse; logits = one-hot of the parsed class,
//      features["abstain"] = (B, T) true where the sentence could not be parsed (counted wrong).
//
// label_history (evaluation): predicted = previous turns' label sentences are the model's own
// generations, turn by turn (merc's default: nothing from the test labels); gold = the release's
// evaluation, whose inputs hold the gold sentences of earlier turns (a leak, marked in every
// output); none = no label sentences in the input at all (training too).
// Two phases (§7.5): stage 0 trains only the new parts (names with layer.3, layer.4, _encoder,
// gat or _mapping, the release's rule) for frozen_epochs epochs; stage 1 trains everything at
// full_lr_scale times the lr.

#include <torch/nn/modules/embedding.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "merc/models/hrg_ssa.h"
#include "merc/models/hrg_ssa_samples.h"
#include "merc/models/hrg_ssa_text.h"
#include "merc/nn/t5/checkpoint.h"
#include "merc/nn/t5/model.h"
#include "merc/nn/t5/tokenizer.h"

namespace merc::models {

class HrgSsaGenerativeModel : public Model {
 public:
  HrgSsaGenerativeModel(const HrgSsaConfig& config, const ModelDims& dims);
  // Training: logits (B, T, C) teacher-forced class-word scores, aux "lm", "con_u", "con_c",
  // task_loss_weight 0. Evaluation: logits (B, T, C) one-hot of the parsed class (0 at padding and
  // where unparseable), features["abstain"] (B, T) bool.
  ModelOutput forward(const data::DialogueBatch& batch, const ForwardContext& ctx) override;

  int stage_for_epoch(int64_t epoch, int64_t num_epochs) const override;
  void set_stage(int stage) override;
  std::vector<ParamGroup> parameter_groups(int stage) override;

  const nn::t5::T5Tokenizer& tokenizer() const { return *tokenizer_; }
  const nn::t5::T5LoadReport& load_report() const { return load_report_; }
  const hrg_ssa::LabelWords& label_words() const { return words_; }
  // Whether a parameter belongs to the first phase's trainable set (the release's name rule).
  static bool trained_while_frozen(const std::string& name);

  // The decoded sentences of the last evaluation forward, node order (tests, logs).
  const std::vector<std::string>& last_generated() const { return last_generated_; }

 private:
  struct Prepared;
  // Memory of the extra cross-attention: fused window nodes (N, L_x, d) and their (N, L_x) mask.
  struct Fused {
    torch::Tensor memory, mask;
  };
  // Tokens, windows and raw features of a batch; gold_labels = false keeps every label out.
  Prepared prepare(const data::DialogueBatch& batch, bool gold_labels) const;
  // T5-encodes `items` (one per row of `nodes`, (K) node indices) and runs the node encoders with
  // those nodes' audio/video: per modality (K, d).
  HrgNodeFeatures encode_items(const std::vector<hrg_ssa::TokenIds>& items, const torch::Tensor& nodes,
                               const Prepared& p);
  // T5 encoder states at each row's last token, (K, d) (emotion-forecast nodes).
  torch::Tensor encode_last(const std::vector<hrg_ssa::TokenIds>& rows, const torch::Device& device);
  // Window slots (K, S, d): current-role features at the target slot, previous-role ones before it.
  HrgGraphInput window_input(const HrgNodeFeatures& current, const HrgNodeFeatures& previous, const Prepared& p,
                             const torch::Tensor& windows) const;
  Fused fuse(const HrgGraphOutput& g, const torch::Tensor& slot_mask) const;
  // Greedy generation for `rows` (histories) with their fused memory; returns the generated ids per
  // row and records predictions into `out` at the rows' nodes.
  std::vector<hrg_ssa::TokenIds> generate_rows(const std::vector<hrg_ssa::TokenIds>& histories, const Fused& fused,
                                               const std::vector<int64_t>& nodes, const Prepared& p, ModelOutput& out);
  // Every node's items in both roles through the T5 encoder and the node encoders, gathered into
  // the windows (graph input without emotion nodes), and every node's history input.
  struct AllTurns {
    HrgGraphInput graph;
    std::vector<hrg_ssa::TokenIds> histories;
  };
  AllTurns all_turns(const Prepared& p);
  ModelOutput forward_train(const Prepared& p);
  ModelOutput forward_generate(const Prepared& p);
  ModelOutput forward_generate_turns(const Prepared& p);
  ModelOutput empty_output(const Prepared& p) const;

  HrgSsaConfig config_;
  ModelDims dims_;
  hrg_ssa::SampleOptions sample_options_;
  hrg_ssa::LabelWords words_;
  void choose_class_tokens();
  std::vector<int64_t> class_token_;  // each class word's token after the words' common prefix
  int64_t class_offset_ = 0;          // that common prefix's length
  std::unique_ptr<nn::t5::T5Tokenizer> tokenizer_;
  nn::t5::T5LoadReport load_report_;
  nn::t5::T5Model t5_{nullptr};
  HrgNodeEncoders node_encoders_{nullptr};
  HrgSsaGraphs graphs_{nullptr};
  std::vector<std::string> last_generated_;
};

// The registry's builder for `hrg_ssa`: text_encoder t5 + head generate -> HrgSsaGenerativeModel,
// text_encoder features + head classify -> HrgSsaModel, anything else -> merc::Error naming both.
std::shared_ptr<Model> build_hrg_ssa(const HrgSsaConfig& config, const ModelDims& dims);

}  // namespace merc::models
