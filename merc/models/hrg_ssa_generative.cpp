#include "merc/models/hrg_ssa_generative.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <climits>
#include <numeric>
#include <set>

#include "merc/core/error.h"
#include "merc/models/model_inputs.h"
#include "merc/nn/graph/context_windows.h"
#include "merc/nn/graph/node_batch.h"
#include "merc/nn/t5/config.h"
#include "merc/nn/t5/generate.h"
#include "merc/nn/t5/init.h"

namespace merc::models {

namespace hrg_gen_detail {

constexpr int kT = static_cast<int>(data::Modality::kText);
constexpr int kA = static_cast<int>(data::Modality::kAudio);
constexpr int kV = static_cast<int>(data::Modality::kVisual);
constexpr int64_t kIgnore = -100;  // Hugging Face's ignore index for LM labels

// Rows of ids right-padded to the longest: ids (K, L) int64 filled with `pad`, mask (K, L) int64 1/0.
struct PaddedIds {
  torch::Tensor ids, mask;
};
PaddedIds pad_rows(const std::vector<hrg_ssa::TokenIds>& rows, int64_t pad) {
  size_t longest = 1;
  for (const auto& r : rows) longest = std::max(longest, r.size());
  const auto k = static_cast<int64_t>(rows.size()), l = static_cast<int64_t>(longest);
  PaddedIds out{torch::full({k, l}, pad, torch::kLong), torch::zeros({k, l}, torch::kLong)};
  auto ids = out.ids.accessor<int64_t, 2>();
  auto mask = out.mask.accessor<int64_t, 2>();
  for (int64_t i = 0; i < k; ++i)
    for (size_t j = 0; j < rows[static_cast<size_t>(i)].size(); ++j) {
      ids[i][static_cast<int64_t>(j)] = rows[static_cast<size_t>(i)][j];
      mask[i][static_cast<int64_t>(j)] = 1;
    }
  return out;
}


nn::ContextWindows select_windows(const nn::ContextWindows& w, const torch::Tensor& rows) {
  return nn::ContextWindows{w.node.index_select(0, rows), w.mask.index_select(0, rows), w.size.index_select(0, rows)};
}

bool contains_any(const std::string& name, std::initializer_list<const char*> parts) {
  return std::any_of(parts.begin(), parts.end(), [&](const char* p) { return name.find(p) != std::string::npos; });
}

}  // namespace hrg_gen_detail

// Everything a forward derives from the batch before any tensor work.
struct HrgSsaGenerativeModel::Prepared {
  int64_t batch_size = 0, max_length = 0;
  torch::Tensor positions;                                       // (U) flat b*T+t of the real utterances (node order)
  std::vector<int64_t> node_dialogue, node_turn;                 // U: (b, t) of each node
  std::vector<std::vector<hrg_ssa::UtteranceTokens>> dialogues;  // [b][t]
  std::vector<int64_t> node_label;                               // U class index, -1 = none
  nn::ContextWindows windows;                                    // one window per node (target = the node)
  torch::Tensor adjacency;                                       // (U, S, S) bool hybrid graph
  torch::Tensor is_current;                                      // (U, S, 1) bool
  torch::Tensor audio, video;                                    // (U, D) raw features (masked), undefined when unused
  const hrg_ssa::UtteranceTokens& tokens(int64_t node) const {
    return dialogues[static_cast<size_t>(node_dialogue[static_cast<size_t>(node)])]
                    [static_cast<size_t>(node_turn[static_cast<size_t>(node)])];
  }
};

HrgSsaGenerativeModel::HrgSsaGenerativeModel(const HrgSsaConfig& c, const ModelDims& dims)
    : Model("hrg_ssa"), config_(c), dims_(dims) {
  using namespace hrg_gen_detail;
  check_dims(dims, "hrg_ssa");
  MERC_CHECK(dims.task == data::Task::kClassification,
             "hrg_ssa generative variant: it writes class words, so it needs a classification task (set data.task: "
             "classification, e.g. CMU-MOSI's negative/positive)");
  MERC_CHECK(!c.t5_dir.empty(),
             "hrg_ssa generative variant: set model.t5_dir to a Hugging Face T5 folder (e.g. "
             "google-t5/t5-base) or one made by `merc t5 init`");
  MERC_CHECK(c.label_history == "predicted" || c.label_history == "gold" || c.label_history == "none",
             "hrg_ssa: label_history must be predicted, gold or none, got '{}'", c.label_history);
  check_hrg_ssa_common(c);
  MERC_CHECK(c.max_generate_length >= 1 && c.full_lr_scale > 0,
             "hrg_ssa: max_generate_length must be >= 1 and full_lr_scale > 0, got {}, {}", c.max_generate_length,
             c.full_lr_scale);
  sample_options_.window = c.window;
  sample_options_.history_label_cut = c.history_label_cut;
  sample_options_.max_history_tokens = c.max_history_tokens;
  sample_options_.emotion_first = c.emotion_first;
  sample_options_.speaker_template = hrg_ssa::parse_speaker_template(c.speaker_template);
  words_ = hrg_ssa::make_label_words(dims.class_names, c.emotion_words, c.sentiment_map);

  tokenizer_ = std::make_unique<nn::t5::T5Tokenizer>(c.t5_dir);
  tokenizer_->add_special_tokens(hrg_ssa::special_tokens());
  choose_class_tokens();

  const nn::t5::T5Config t5c = nn::t5::read_t5_config(c.t5_dir + "/config.json");
  const bool fuse = dims.use[kA] || dims.use[kV];  // the release: is_multi_decoder = audio or video mode
  nn::t5::T5LoadOptions lo;
  lo.keep_initial = {nn::t5::kExtraCrossAttentionPattern};
  lo.extra_cross_attention_from = fuse ? nn::t5::extra_cross_attention_start(t5c.num_decoder_layers) : -1;
  nn::t5::LoadedT5 loaded = nn::t5::load_t5_pretrained(c.t5_dir, lo);
  load_report_ = loaded.report;
  t5_ = register_module("t5", loaded.model);
  // The release: model.resize_token_embeddings(len(tokenizer)) after adding its tokens.
  if (tokenizer_->size() != t5_->options.config.vocab_size) nn::t5::resize_token_embeddings(*t5_, tokenizer_->size());
  // Parts absent from a T5 checkpoint start from T5's initialisation (from_pretrained's _init_weights).
  for (const auto& block : *t5_->decoder->block)
    if (auto extra = block->as<nn::t5::BlockImpl>()->extra_cross_attention) nn::t5::init_t5_weights(*extra);
  spdlog::info("hrg_ssa: T5 from {} ({} tensors loaded, {} left at init), vocabulary {}", load_report_.source,
               load_report_.loaded, load_report_.left_at_init.size(), tokenizer_->size());

  // Nodes live in T5's width; the node text is the T5 encoding of the item, so it is always there.
  const HrgWidths widths{t5c.d_model, t5c.d_kv, t5c.num_heads, t5c.d_ff, t5c.dropout_rate};
  std::array<bool, data::kNumModalities> use = dims.use;
  use[kT] = true;
  node_encoders_ = register_module("node_encoders", HrgNodeEncoders(hrg_node_encoder_options(c, dims, use, widths)));
  nn::t5::init_t5_weights(*node_encoders_);
  graphs_ = register_module("graphs", HrgSsaGraphs(hrg_graph_options(c, use, widths)));
}

void HrgSsaGenerativeModel::choose_class_tokens() {
  // Class words may share their first pieces (a lone "▁" when the vocabulary splits them): the
  // training-time class scores read the LM where the words first differ, after the common prefix,
  // which teacher forcing feeds identically for every class.
  std::vector<hrg_ssa::TokenIds> words;
  size_t shortest = SIZE_MAX;
  for (const std::string& w : words_.emotion) {
    words.push_back(tokenizer_->encode(w, false));
    MERC_CHECK(!words.back().empty(), "hrg_ssa: the class word '{}' has no tokens", w);
    shortest = std::min(shortest, words.back().size());
  }
  size_t common = 0;
  while (common + 1 < shortest &&
         std::all_of(words.begin(), words.end(), [&](const auto& t) { return t[common] == words[0][common]; }))
    ++common;
  class_offset_ = static_cast<int64_t>(common);
  class_token_.clear();
  for (const auto& t : words) class_token_.push_back(t[common]);
  if (std::set<int64_t>(class_token_.begin(), class_token_.end()).size() < class_token_.size())
    spdlog::warn("hrg_ssa: two class words share their token at position {}: the training-time class scores cannot "
                 "tell them apart (the generated sentences still can)",
                 common);
}

bool HrgSsaGenerativeModel::trained_while_frozen(const std::string& name) {
  return hrg_gen_detail::contains_any(name, {"layer.3", "layer.4", "_encoder", "gat", "_mapping"});
}

int HrgSsaGenerativeModel::stage_for_epoch(int64_t epoch, int64_t num_epochs) const {
  const int64_t frozen =
      config_.frozen_epochs < 0 ? std::max<int64_t>(0, num_epochs - 10) : std::min(config_.frozen_epochs, num_epochs);
  return epoch < frozen ? 0 : 1;
}

namespace hrg_gen_detail {
// The implicit-connection detectors never train (their output is discrete edges: no gradient path).
bool is_detector(const std::string& name) { return name.find("edge_relation") != std::string::npos; }
}  // namespace hrg_gen_detail

void HrgSsaGenerativeModel::set_stage(int stage) {
  for (auto& p : named_parameters())
    if (!hrg_gen_detail::is_detector(p.key())) p.value().set_requires_grad(stage == 1 || trained_while_frozen(p.key()));
}

std::vector<ParamGroup> HrgSsaGenerativeModel::parameter_groups(int stage) {
  ParamGroup group{stage == 0 ? "new_parts" : "all", {}, stage == 0 ? 1.0 : config_.full_lr_scale};
  for (auto& p : named_parameters())
    if (!hrg_gen_detail::is_detector(p.key()) && (stage == 1 || trained_while_frozen(p.key())))
      group.params.push_back(p.value());
  return {group};
}

HrgSsaGenerativeModel::Prepared HrgSsaGenerativeModel::prepare(const data::DialogueBatch& batch,
                                                               bool gold_labels) const {
  using namespace hrg_gen_detail;
  Prepared p;
  p.batch_size = batch.utterance_mask.size(0);
  p.max_length = batch.utterance_mask.size(1);
  p.positions = nn::node_positions(batch.lengths, p.max_length);
  const torch::Tensor label_cpu = batch.label.to(torch::kCPU), lengths_cpu = batch.lengths.to(torch::kCPU);
  const torch::Tensor text_cpu = batch.modality_mask.select(2, kT).to(torch::kCPU).contiguous();
  const auto labels = label_cpu.accessor<int64_t, 2>();
  const auto lengths = lengths_cpu.accessor<int64_t, 1>();
  const auto text_mask = text_cpu.accessor<bool, 2>();
  const hrg_ssa::Encode encode = [this](const std::string& text) { return tokenizer_->encode(text, true); };
  p.dialogues.resize(static_cast<size_t>(p.batch_size));
  for (int64_t b = 0; b < p.batch_size; ++b) {
    for (int64_t t = 0; t < lengths[b]; ++t) {
      const int64_t label = labels[b][t];
      const bool known = gold_labels && label >= 0;
      hrg_ssa::TurnText turn;
      turn.speaker = batch.speaker_name.at(static_cast<size_t>(b)).at(static_cast<size_t>(t));
      // A transcript the missing-modality protocol dropped is not read.
      if (text_mask[b][t])
        turn.transcript = batch.transcript.at(static_cast<size_t>(b)).at(static_cast<size_t>(t));
      turn.emotion = known ? words_.emotion[static_cast<size_t>(label)] : hrg_ssa::kUndetermined;
      turn.sentiment = known ? words_.sentiment[static_cast<size_t>(label)] : hrg_ssa::kUndetermined;
      hrg_ssa::UtteranceTokens u = hrg_ssa::encode_utterance(turn, sample_options_, encode);
      if (config_.label_history == "none") u.item_previous = u.item_current;
      p.dialogues[static_cast<size_t>(b)].push_back(std::move(u));
      p.node_dialogue.push_back(b);
      p.node_turn.push_back(t);
      p.node_label.push_back(gold_labels ? label : -1);
    }
  }
  p.windows = nn::context_windows(batch.lengths, config_.window);
  const torch::Tensor speaker = batch.speaker.reshape({-1}).index_select(0, p.positions);
  p.adjacency = nn::hybrid_relational_graph(p.windows, speaker).adjacency;
  p.is_current = nn::current_slot_mask(p.windows).unsqueeze(2);
  if (dims_.use[kA]) p.audio = nn::to_nodes(masked_modality(batch, data::Modality::kAudio), p.positions);
  if (dims_.use[kV]) p.video = nn::to_nodes(masked_modality(batch, data::Modality::kVisual), p.positions);
  return p;
}

HrgNodeFeatures HrgSsaGenerativeModel::encode_items(const std::vector<hrg_ssa::TokenIds>& items,
                                                    const torch::Tensor& nodes, const Prepared& p) {
  using namespace hrg_gen_detail;
  const torch::Device device = t5_->shared->weight.device();
  const PaddedIds x = pad_rows(items, tokenizer_->pad_id());
  HrgNodeInput ni;
  ni.text_mask = x.mask.to(device);
  ni.text_tokens = t5_->encode(nn::t5::EncodeInput{x.ids.to(device), {}, ni.text_mask});
  if (p.audio.defined()) ni.audio = p.audio.index_select(0, nodes.to(p.audio.device()));
  if (p.video.defined()) ni.video = p.video.index_select(0, nodes.to(p.video.device()));
  return node_encoders_(ni);
}

torch::Tensor HrgSsaGenerativeModel::encode_last(const std::vector<hrg_ssa::TokenIds>& rows,
                                                 const torch::Device& device) {
  using namespace hrg_gen_detail;
  const PaddedIds x = pad_rows(rows, tokenizer_->pad_id());
  const torch::Tensor mask = x.mask.to(device);
  return hrg_last_token(t5_->encode(nn::t5::EncodeInput{x.ids.to(device), {}, mask}), mask);
}

HrgGraphInput HrgSsaGenerativeModel::window_input(const HrgNodeFeatures& current, const HrgNodeFeatures& previous,
                                                  const Prepared& p, const torch::Tensor& windows) const {
  using namespace hrg_gen_detail;
  const torch::Tensor rows = windows.to(p.windows.node.device());
  const nn::ContextWindows w = select_windows(p.windows, rows);
  const torch::Tensor is_current = p.is_current.index_select(0, rows);
  HrgGraphInput gi;
  for (int m = 0; m < data::kNumModalities; ++m)
    if (current[static_cast<size_t>(m)].defined())
      gi.nodes[static_cast<size_t>(m)] =
          torch::where(is_current, nn::gather_windows(current[static_cast<size_t>(m)], w),
                       nn::gather_windows(previous[static_cast<size_t>(m)], w));
  gi.adjacency = p.adjacency.index_select(0, rows);
  gi.mask = w.mask;
  return gi;
}

HrgSsaGenerativeModel::Fused HrgSsaGenerativeModel::fuse(const HrgGraphOutput& g,
                                                         const torch::Tensor& slot_mask) const {
  using namespace hrg_gen_detail;
  const bool audio = g.nodes[kA].defined(), video = g.nodes[kV].defined();
  if (!audio && !video) return {};  // no extra cross-attention (the release's is_multi_decoder is off)
  // The release's code fuses only the audio (or video) nodes when the other one is off (quirk switch).
  const bool text = !(config_.fusion_single_modality_release && audio != video);
  std::vector<torch::Tensor> memory, mask;
  for (int m : {kT, kA, kV})
    if (g.nodes[static_cast<size_t>(m)].defined() && (m != kT || text)) {
      memory.push_back(g.nodes[static_cast<size_t>(m)]);
      mask.push_back(slot_mask.to(torch::kLong));
    }
  return Fused{torch::cat(memory, 1), torch::cat(mask, 1)};
}

ModelOutput HrgSsaGenerativeModel::empty_output(const Prepared& p) const {
  ModelOutput out;
  out.logits = torch::zeros({p.batch_size, p.max_length, dims_.num_classes});
  out.features["abstain"] = torch::zeros({p.batch_size, p.max_length}, torch::kBool);
  return out;
}

std::vector<hrg_ssa::TokenIds> HrgSsaGenerativeModel::generate_rows(const std::vector<hrg_ssa::TokenIds>& histories,
                                                                    const Fused& fused,
                                                                    const std::vector<int64_t>& nodes,
                                                                    const Prepared& p, ModelOutput& out) {
  using namespace hrg_gen_detail;
  const torch::Device device = t5_->shared->weight.device();
  const PaddedIds h = pad_rows(histories, tokenizer_->pad_id());
  nn::t5::GenerateInput in;
  in.encoder = nn::t5::EncodeInput{h.ids.to(device), {}, h.mask.to(device)};
  in.extra_memory = fused.memory;
  in.extra_mask = fused.mask;
  const nn::t5::GenerateOutput g = nn::t5::greedy_generate(*t5_, in, {config_.max_generate_length, true});
  const torch::Tensor tokens = g.tokens.to(torch::kCPU), lengths = g.lengths.to(torch::kCPU);
  auto logits = out.logits.accessor<float, 3>();
  auto abstain = out.features["abstain"].accessor<bool, 2>();
  nn::t5::DecodeOptions decode;
  decode.skip_special_tokens = false;  // the markers are what the parse reads
  std::vector<hrg_ssa::TokenIds> generated;
  for (size_t r = 0; r < nodes.size(); ++r) {
    const int64_t len = lengths[static_cast<int64_t>(r)].item<int64_t>();
    const torch::Tensor row = tokens[static_cast<int64_t>(r)].slice(0, 0, len).contiguous();
    generated.emplace_back(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + len);
    const std::string text = tokenizer_->decode(generated.back(), decode);
    const int64_t node = nodes[r];
    const int64_t b = p.node_dialogue[static_cast<size_t>(node)], t = p.node_turn[static_cast<size_t>(node)];
    const std::optional<int64_t> pred = hrg_ssa::parse_emotion(text, words_);
    if (pred) {
      logits[b][t][*pred] = 1.0f;
    } else {
      abstain[b][t] = true;
    }
    last_generated_[static_cast<size_t>(node)] = text;
    if (r == 0) spdlog::debug("hrg_ssa: generated (turn {}): {}", t, text);
  }
  return generated;
}

ModelOutput HrgSsaGenerativeModel::forward_train(const Prepared& p) {
  using namespace hrg_gen_detail;
  const torch::Device device = t5_->shared->weight.device();
  const auto u_count = static_cast<int64_t>(p.node_label.size());
  std::vector<hrg_ssa::TokenIds> forecast_current, forecast_previous, labels;
  int64_t labelled = 0;
  std::vector<int64_t> emotion_position;
  const int64_t bos_emotion = tokenizer_->token_to_id(hrg_ssa::kBosEmotion);
  for (int64_t u = 0; u < u_count; ++u) {
    const hrg_ssa::UtteranceTokens& t = p.tokens(u);
    forecast_current.push_back(t.forecast_current);
    forecast_previous.push_back(t.forecast_previous);
    const bool known = p.node_label[static_cast<size_t>(u)] >= 0;
    labelled += known;
    labels.push_back(known ? t.label_sentence : hrg_ssa::TokenIds{kIgnore});
    const auto at = std::find(t.label_sentence.begin(), t.label_sentence.end(), bos_emotion);
    emotion_position.push_back(known && at != t.label_sentence.end() ? (at - t.label_sentence.begin()) + 1 + class_offset_
                                                                      : 0);
  }
  AllTurns all = all_turns(p);
  HrgGraphInput& gi = all.graph;
  const torch::Tensor ec = encode_last(forecast_current, device), ep = encode_last(forecast_previous, device);
  gi.emotion = torch::where(p.is_current, nn::gather_windows(ec, p.windows), nn::gather_windows(ep, p.windows));
  gi.losses = true;
  const HrgGraphOutput g = graphs_(gi);
  const Fused fused = fuse(g, gi.mask);

  const PaddedIds h = pad_rows(all.histories, tokenizer_->pad_id());
  nn::t5::Seq2SeqInput si;
  si.encoder = nn::t5::EncodeInput{h.ids.to(device), {}, h.mask.to(device)};
  // Labels padded with the ignore index, or with the pad id as the release does (then they count).
  si.labels = pad_rows(labels, config_.pad_labels_with_pad_id ? tokenizer_->pad_id() : kIgnore).ids.to(device);
  si.extra_memory = fused.memory;
  si.extra_mask = fused.mask;
  const nn::t5::Seq2SeqOutput o = t5_->forward(si);

  ModelOutput out;
  const torch::Tensor rows = torch::arange(u_count, torch::TensorOptions().dtype(torch::kLong).device(device));
  const torch::Tensor position = torch::tensor(emotion_position, torch::kLong).to(device);
  const torch::Tensor class_token = torch::tensor(class_token_, torch::kLong).to(device);
  const torch::Tensor scores = o.logits.index({rows, position}).index_select(1, class_token);  // (U, C)
  out.logits = nn::to_padded(scores.detach(), p.positions, p.batch_size, p.max_length);
  out.aux_losses["lm"] = labelled > 0 ? o.loss : o.logits.sum() * 0.0;
  if (g.con_u.defined()) out.aux_losses["con_u"] = config_.con_w * g.con_u;
  if (g.con_c.defined()) out.aux_losses["con_c"] = config_.con_w * g.con_c;
  out.task_loss_weight = 0.0;  // the LM loss is the task loss
  return out;
}

HrgSsaGenerativeModel::AllTurns HrgSsaGenerativeModel::all_turns(const Prepared& p) {
  const auto u_count = static_cast<int64_t>(p.node_label.size());
  const torch::Tensor all = torch::arange(u_count, torch::kLong);
  std::vector<hrg_ssa::TokenIds> current, previous;
  AllTurns out;
  for (int64_t u = 0; u < u_count; ++u) {
    current.push_back(p.tokens(u).item_current);
    previous.push_back(p.tokens(u).item_previous);
    out.histories.push_back(
        hrg_ssa::history_input(p.dialogues[static_cast<size_t>(p.node_dialogue[static_cast<size_t>(u)])],
                               p.node_turn[static_cast<size_t>(u)], sample_options_));
  }
  const HrgNodeFeatures fc = encode_items(current, all, p);
  // Without label sentences an item reads the same in both roles: encode it once.
  const HrgNodeFeatures fp = config_.label_history == "none" ? fc : encode_items(previous, all, p);
  out.graph = window_input(fc, fp, p, all);
  return out;
}

ModelOutput HrgSsaGenerativeModel::forward_generate(const Prepared& p) {
  AllTurns all = all_turns(p);
  all.graph.losses = false;
  const HrgGraphOutput g = graphs_(all.graph);
  ModelOutput out = empty_output(p);
  const auto u_count = static_cast<int64_t>(p.node_label.size());
  last_generated_.assign(static_cast<size_t>(u_count), "");
  std::vector<int64_t> nodes(static_cast<size_t>(u_count));
  std::iota(nodes.begin(), nodes.end(), int64_t{0});
  generate_rows(all.histories, fuse(g, all.graph.mask), nodes, p, out);
  return out;
}

ModelOutput HrgSsaGenerativeModel::forward_generate_turns(const Prepared& p) {
  const auto u_count = static_cast<int64_t>(p.node_label.size());
  std::vector<hrg_ssa::TokenIds> current;
  for (int64_t u = 0; u < u_count; ++u) current.push_back(p.tokens(u).item_current);
  const HrgNodeFeatures fc = encode_items(current, torch::arange(u_count, torch::kLong), p);
  HrgNodeFeatures fp;  // previous-role features, filled turn by turn from the model's own sentences
  for (size_t m = 0; m < fc.size(); ++m)
    if (fc[m].defined()) fp[m] = torch::zeros_like(fc[m]);
  auto dialogues = p.dialogues;  // item_previous replaced by generated sentences as they come
  ModelOutput out = empty_output(p);
  last_generated_.assign(static_cast<size_t>(u_count), "");
  std::vector<int64_t> before;  // nodes of the previous turn
  for (int64_t turn = 0; turn < p.max_length; ++turn) {
    std::vector<int64_t> targets;
    for (int64_t u = 0; u < u_count; ++u)
      if (p.node_turn[static_cast<size_t>(u)] == turn) targets.push_back(u);
    if (targets.empty()) break;
    if (!before.empty()) {
      std::vector<hrg_ssa::TokenIds> items;
      for (int64_t u : before)
        items.push_back(
            dialogues[static_cast<size_t>(p.node_dialogue[static_cast<size_t>(u)])][static_cast<size_t>(turn - 1)]
                .item_previous);
      const torch::Tensor rows = torch::tensor(before, torch::kLong);
      const HrgNodeFeatures f = encode_items(items, rows, p);
      for (size_t m = 0; m < fp.size(); ++m)
        if (fp[m].defined()) fp[m].index_copy_(0, rows.to(fp[m].device()), f[m]);
    }
    HrgGraphInput gi = window_input(fc, fp, p, torch::tensor(targets, torch::kLong));
    gi.losses = false;
    const HrgGraphOutput g = graphs_(gi);
    std::vector<hrg_ssa::TokenIds> histories;
    for (int64_t u : targets)
      histories.push_back(hrg_ssa::history_input(
          dialogues[static_cast<size_t>(p.node_dialogue[static_cast<size_t>(u)])], turn, sample_options_));
    const std::vector<hrg_ssa::TokenIds> generated = generate_rows(histories, fuse(g, gi.mask), targets, p, out);
    for (size_t i = 0; i < targets.size(); ++i) {
      auto& tokens =
          dialogues[static_cast<size_t>(p.node_dialogue[static_cast<size_t>(targets[i])])][static_cast<size_t>(turn)];
      tokens.item_previous = hrg_ssa::item_with_generated_sentence(tokens.item_current, generated[i],
                                                                   config_.history_label_cut, tokenizer_->eos_id());
    }
    before = targets;
  }
  return out;
}

ModelOutput HrgSsaGenerativeModel::forward(const data::DialogueBatch& input, const ForwardContext&) {
  const data::DialogueBatch batch = checked_batch(input, dims_, "hrg_ssa");
  const torch::Device device = batch.utterance_mask.device();
  if (is_training()) return forward_train(prepare(batch, true));
  ModelOutput out = config_.label_history == "predicted"
                        ? forward_generate_turns(prepare(batch, false))
                        : forward_generate(prepare(batch, config_.label_history == "gold"));
  out.logits = out.logits.to(device);
  out.features["abstain"] = out.features["abstain"].to(device);
  return out;
}

std::shared_ptr<Model> build_hrg_ssa(const HrgSsaConfig& config, const ModelDims& dims) {
  if (config.text_encoder == "t5" && config.head == "generate")
    return std::make_shared<HrgSsaGenerativeModel>(config, dims);
  return std::make_shared<HrgSsaModel>(config, dims);  // checks the combination itself
}

}  // namespace merc::models
