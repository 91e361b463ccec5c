#include "merc/models/graphsmile.h"

#include <torch/nn/functional/activation.h>

#include "merc/core/error.h"
#include "merc/models/graphsmile_sentiment.h"
#include "merc/models/model_inputs.h"
#include "merc/nn/graph/chunk_pairs.h"
#include "merc/nn/graph/heter_window_edges.h"
#include "merc/nn/graph/node_batch.h"

namespace merc::models {

namespace {
constexpr int kGsText = static_cast<int>(data::Modality::kText);
constexpr int kGsAudio = static_cast<int>(data::Modality::kAudio);
constexpr int kGsVisual = static_cast<int>(data::Modality::kVisual);
// The public code's graphs, in its order: (t,v), (t,a), (v,a); heter_layers[i] belongs to pair i.
constexpr std::array<std::array<int, 2>, 3> kGsPairs = {{{kGsText, kGsVisual}, {kGsText, kGsAudio}, {kGsVisual, kGsAudio}}};
// Modality order of the fusion mean (tv_t, ta_t, tv_v, va_v, ta_a, va_a).
constexpr std::array<int, 3> kGsFusionOrder = {kGsText, kGsVisual, kGsAudio};
}  // namespace

void GraphSmileConfig::visit(FieldVisitor& v) {
  ModelConfig::visit(v);
  v.field("hidden_dim", hidden_dim, "width H of every node feature (hidden_dim)");
  v.field("dropout", dropout, "dropout after the modality projections and in the graph MLPs (drop)");
  v.field("text_layers", text_layers,
          "equal-width layers the text feature is made of (4 for GraphSmile's RoBERTa x4 pickles, else 1)");
  v.field("text_mode", text_mode,
          "which text layers are read: textf0..textf3 (one layer), concat2/concat4 (concatenated), sum2/sum4 "
          "(projections averaged) (textf_mode)");
  v.field("text_batchnorm", text_batchnorm, "BatchNorm1d on each text layer read, before its projection");
  v.field("bn_over_padding", bn_over_padding,
          "quirk: text BatchNorm statistics over all B*T padded rows, zeros included (false: real utterances only)");
  v.field("window_past", window_past, "past utterances of the other modality each node is linked with (-1 = all)");
  v.field("window_future", window_future, "future utterances of the other modality linked (-1 = all)");
  v.field("heter_layers", heter_layers, "layers of the (t,v), (t,a), (v,a) graphs (heter_n_layers)");
  v.field("edge_weights", edge_weights,
          "quirk: position (learnable weights indexed by edge position in the batch, public code) or ones");
  v.field("edge_weight_slots", edge_weight_slots,
          "length of each graph's position-indexed edge-weight vector (public code: 500000); a batch with more "
          "edges is an error");
  v.field("identical_layer_init", identical_layer_init,
          "quirk: the layers and MLPs of one graph start with identical weights (deepcopy of one module)");
  v.field("shift_window", shift_window, "chunk length of the sentiment-shift pairs (-1 = whole dialogue) (shift_win)");
  v.field("emotion_weight", emotion_weight, "weight of the task (emotion) loss (lambd[0])");
  v.field("sentiment_weight", sentiment_weight, "weight of the utterance sentiment loss (lambd[1]; 0 = head off)");
  v.field("shift_weight", shift_weight, "weight of the sentiment-shift loss (lambd[2]; 0 = head off)");
  v.field("sentiment_map", sentiment_map,
          "sentiment (0 neg, 1 neu, 2 pos, -1 none) of each class; empty = no sentiment on classification data "
          "(both auxiliary heads off); regression data uses the sign of the score");
}

GraphSmileModel::GraphSmileModel(const GraphSmileConfig& config, const ModelDims& dims)
    : Model("graphsmile"), config_(config), dims_(dims) {
  check_dims(dims, "graphsmile");
  const int64_t H = config.hidden_dim;
  MERC_CHECK(H > 0, "graphsmile: hidden_dim must be positive, got {}", H);
  MERC_CHECK(config.dropout >= 0 && config.dropout < 1, "graphsmile: dropout must be in [0, 1), got {}",
             config.dropout);
  MERC_CHECK(config.window_past >= -1 && config.window_future >= -1,
             "graphsmile: window_past and window_future must be >= -1, got {} and {}", config.window_past,
             config.window_future);
  MERC_CHECK(config.heter_layers.size() == 3, "graphsmile: heter_layers needs 3 values (t,v), (t,a), (v,a), got {}",
             config.heter_layers.size());
  for (int64_t l : config.heter_layers) MERC_CHECK(l >= 0, "graphsmile: heter_layers must be >= 0, got {}", l);
  MERC_CHECK(config.shift_window > 0 || config.shift_window == -1,
             "graphsmile: shift_window must be > 0 or -1, got {}", config.shift_window);
  MERC_CHECK(config.emotion_weight >= 0 && config.sentiment_weight >= 0 && config.shift_weight >= 0,
             "graphsmile: loss weights must be >= 0, got {}, {}, {}", config.emotion_weight, config.sentiment_weight,
             config.shift_weight);
  const nn::EdgeWeights edge_weights = nn::parse_edge_weights(config.edge_weights);

  for (int m : {kGsText, kGsAudio, kGsVisual})
    if (dims.use[m]) used_.push_back(m);

  // Text layers and mode.
  if (dims.use[kGsText]) {
    const std::string& mode = config.text_mode;
    if (mode.rfind("textf", 0) == 0 && mode.size() == 6 && mode[5] >= '0' && mode[5] <= '3') {
      text_plan_.layers = {mode[5] - '0'};
    } else if (mode == "concat2" || mode == "sum2") {
      text_plan_.layers = {0, 1};
    } else if (mode == "concat4" || mode == "sum4") {
      text_plan_.layers = {0, 1, 2, 3};
    } else {
      throw Error(fmt::format(
          "graphsmile: unknown text_mode '{}' (expected textf0..textf3, concat2, concat4, sum2 or sum4)", mode));
    }
    text_plan_.concat = mode.rfind("concat", 0) == 0;
    MERC_CHECK(config.text_layers >= 1 && dims.input_dims[kGsText] % config.text_layers == 0,
               "graphsmile: the text feature ({} dims) does not split into text_layers = {} equal layers",
               dims.input_dims[kGsText], config.text_layers);
    for (int64_t l : text_plan_.layers)
      MERC_CHECK(l < config.text_layers, "graphsmile: text_mode '{}' reads text layer {} but text_layers is {}", mode,
                 l, config.text_layers);
    const int64_t d = dims.input_dims[kGsText] / config.text_layers;
    if (config.text_batchnorm)
      for (int64_t l : text_plan_.layers)
        text_bn_.push_back(register_module("text_bn" + std::to_string(l), torch::nn::BatchNorm1d(d)));
    const int64_t in = text_plan_.concat ? d * static_cast<int64_t>(text_plan_.layers.size()) : d;
    proj_[kGsText] = register_module("proj_text", torch::nn::Linear(in, H));
  }
  if (dims.use[kGsAudio]) proj_[kGsAudio] = register_module("proj_audio", torch::nn::Linear(dims.input_dims[kGsAudio], H));
  if (dims.use[kGsVisual]) proj_[kGsVisual] = register_module("proj_visual", torch::nn::Linear(dims.input_dims[kGsVisual], H));

  static const char* kPairNames[] = {"graph_tv", "graph_ta", "graph_va"};
  for (size_t p = 0; p < kGsPairs.size(); ++p) {
    const auto [m, n] = kGsPairs[p];
    if (!dims.use[m] || !dims.use[n]) continue;
    Graph g{m, n, nullptr};
    g.conv = register_module(kPairNames[p], nn::HeterGraphConv(nn::HeterGraphConvOptions(H, config.heter_layers[p])
                                                                   .dropout(config.dropout)
                                                                   .edge_weights(edge_weights)
                                                                   .edge_weight_slots(config.edge_weight_slots)
                                                                   .identical_init(config.identical_layer_init)));
    graphs_.push_back(g);
  }
  fusion_ = register_module("fusion", torch::nn::Linear(H, H));
  emotion_head_ = register_module("emotion_head", torch::nn::Linear(H, dims.output_dim()));

  const bool regression = dims.task == data::Task::kRegression;
  if (!regression && !config.sentiment_map.empty()) {
    MERC_CHECK(static_cast<int64_t>(config.sentiment_map.size()) == dims.num_classes,
               "graphsmile: sentiment_map has {} entries but the dataset has {} classes", config.sentiment_map.size(),
               dims.num_classes);
    for (int64_t s : config.sentiment_map)
      MERC_CHECK(s >= -1 && s < kNumSentiments, "graphsmile: sentiment_map entries must be -1, 0, 1 or 2, got {}", s);
  }
  const bool has_sentiment = regression || !config.sentiment_map.empty();
  if (has_sentiment && config.sentiment_weight > 0)
    sentiment_head_ = register_module("sentiment_head", torch::nn::Linear(H, kNumSentiments));
  if (has_sentiment && config.shift_weight > 0)
    shift_head_ = register_module("shift_head", torch::nn::Linear(2 * H, 2));
}

torch::Tensor GraphSmileModel::project(int m, const torch::Tensor& x) {
  return torch::dropout(torch::leaky_relu(proj_[m](x)), config_.dropout, is_training());
}

torch::Tensor GraphSmileModel::text_nodes(const data::DialogueBatch& batch, const torch::Tensor& positions) {
  const torch::Tensor x = masked_modality(batch, data::Modality::kText);  // (B, T, D)
  const int64_t B = x.size(0), T = x.size(1);
  const int64_t d = x.size(2) / config_.text_layers;
  std::vector<torch::Tensor> layers;
  for (size_t i = 0; i < text_plan_.layers.size(); ++i) {
    torch::Tensor layer = x.narrow(2, text_plan_.layers[i] * d, d);
    if (config_.text_batchnorm && config_.bn_over_padding) {
      // The public code normalises the (B T, d) reshape of the padded batch: padding rows (zeros)
      // enter the batch statistics.
      layer = nn::to_nodes(text_bn_[i](layer.reshape({B * T, d})).view({B, T, d}), positions);
    } else {
      layer = nn::to_nodes(layer, positions);
      if (config_.text_batchnorm) layer = text_bn_[i](layer);
    }
    layers.push_back(layer);
  }
  if (text_plan_.concat) return project(kGsText, torch::cat(layers, 1));
  torch::Tensor sum = project(kGsText, layers[0]);
  for (size_t i = 1; i < layers.size(); ++i) sum = sum + project(kGsText, layers[i]);
  return layers.size() == 1 ? sum : sum / static_cast<double>(layers.size());
}

ModelOutput GraphSmileModel::forward(const data::DialogueBatch& input, const ForwardContext&) {
  const data::DialogueBatch batch = checked_batch(input, dims_, "graphsmile");
  const int64_t B = batch.utterance_mask.size(0), T = batch.utterance_mask.size(1);
  const torch::Tensor positions = nn::node_positions(batch.lengths, T);

  // 1. Per-modality node features f_m (N, H).
  std::array<torch::Tensor, data::kNumModalities> f;
  for (int m : used_) {
    f[m] = m == kGsText ? text_nodes(batch, positions)
                   : project(m, nn::to_nodes(masked_modality(batch, static_cast<data::Modality>(m)), positions));
  }
  // 2. Heterogeneous graphs: the edge list depends only on the lengths, built once and shared.
  std::array<std::vector<torch::Tensor>, data::kNumModalities> outputs;
  if (!graphs_.empty()) {
    const torch::Tensor edges =
        nn::heter_window_edges(batch.lengths, 2, config_.window_past, config_.window_future).to(positions.device());
    const nn::NodeGroups groups = nn::dialogue_groups(batch.lengths.to(positions.device()), 2);
    const int64_t N = positions.size(0);
    for (Graph& g : graphs_) {
      const torch::Tensor s = g.conv(torch::cat({f[g.m], f[g.n]}, 0), edges, groups);
      outputs[g.m].push_back(s.narrow(0, 0, N));
      outputs[g.n].push_back(s.narrow(0, N, N));
    }
  } else {
    outputs[used_[0]].push_back(f[used_[0]]);  // one modality: no pair, straight to fusion
  }
  // 3. Fusion: mean of the shared fusion layer over every graph output.
  torch::Tensor z;
  int64_t count = 0;
  for (int m : kGsFusionOrder)
    for (const torch::Tensor& o : outputs[m]) {
      const torch::Tensor y = torch::leaky_relu(fusion_(o));
      z = z.defined() ? z + y : y;
      ++count;
    }
  z = z / static_cast<double>(count);

  // 4. Heads and auxiliary losses.
  ModelOutput out;
  out.logits = nn::to_padded(emotion_head_(z), positions, B, T);
  out.features["fused"] = nn::to_padded(z, positions, B, T);
  out.task_loss_weight = config_.emotion_weight;
  if (sentiment_head_ || shift_head_) {
    const torch::Tensor sentiments = node_sentiments(batch, positions, dims_.task, config_.sentiment_map);
    if (sentiment_head_)
      out.aux_losses["sentiment"] = config_.sentiment_weight * masked_nll(sentiment_head_(z), sentiments);
    if (shift_head_) {
      const nn::ChunkPairs pairs = nn::chunk_pairs(batch.lengths, config_.shift_window);
      const torch::Tensor first = pairs.first.to(z.device()), second = pairs.second.to(z.device());
      const torch::Tensor pair_features = torch::cat({z.index_select(0, first), z.index_select(0, second)}, 1);
      out.aux_losses["shift"] =
          config_.shift_weight * masked_nll(shift_head_(pair_features), shift_targets(sentiments, first, second));
    }
  }
  return out;
}

}  // namespace merc::models
