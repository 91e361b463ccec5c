// GraphSmile's state_dict names (lijfrank-open/GraphSmile@96745a2 model.py, module.py) -> merc's
// graphsmile parameters (merc/models/graphsmile.h). run.py wraps the model in
// DistributedDataParallel, so a saved state_dict carries "module." on every key; read_state_dict
// strips it before the table sees the keys.
//
//   upstream                                              merc
//   batchnorms_t.{l}.*  (4 BatchNorm1d, one per RoBERTa layer)  text_bn{l}.*  for the layers text_mode reads
//   dim_layer_t.0 / dim_layer_a.0 / dim_layer_v.0         proj_text / proj_audio / proj_visual
//   hetergconv_{tv,ta,va}.edge_weight (500000)            graph_{tv,ta,va}.edge_weight
//   hetergconv_P.hetergcn_layers.{i}.hetergconv.weight    graph_P.conv_weight_{i}  (H_in x H_out, used as
//                                                         x.mm(W) on both sides: no transpose)
//   hetergconv_P.hetergcn_layers.{i}.hetergconv.bias      graph_P.conv_bias_{i}
//   hetergconv_P.fc_layers.{i}.0                          graph_P.mlps.{i}
//   modal_fusion.0 / emo_output                           fusion / emotion_head
//   sen_output / senshift.shift_output_layer.0            sentiment_head / shift_head (when merc builds them)
//
// Ignored: batchnorms_t.{l} of the layers text_mode does not read (the forward normalises all four
// but uses only the chosen ones), hetergconv_P.fc_layer.0 (the template module the fc_layers are
// deep-copied from; never called), and sen_output / senshift when merc's config has the auxiliary
// heads off (they feed only the training losses, not the emotion output).

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "merc/core/error.h"
#include "merc/models/graphsmile.h"
#include "merc/models/upstream/tables.h"

namespace merc::models::upstream {

namespace {

// The text layers each text_mode reads, as GraphSmile's dim_layer_dict_t does.
std::vector<int64_t> text_layers_read(const std::string& mode) {
  if (mode.size() == 6 && mode.rfind("textf", 0) == 0 && mode[5] >= '0' && mode[5] <= '3') return {mode[5] - '0'};
  if (mode == "concat2" || mode == "sum2") return {0, 1};
  if (mode == "concat4" || mode == "sum4") return {0, 1, 2, 3};
  throw Error(fmt::format("graphsmile: unknown text_mode '{}' (expected textf0..textf3, concat2, concat4, sum2 or sum4)",
                          mode));
}

}  // namespace

NameTable graphsmile_names(const ModelConfig& config, const ModelDims& dims) {
  const auto* c = dynamic_cast<const GraphSmileConfig*>(&config);
  MERC_CHECK(c != nullptr, "graphsmile upstream names: expected a graphsmile model config, got '{}'", config.name);
  NameTable t;
  t.model = "graphsmile";
  t.upstream = "lijfrank-open/GraphSmile@96745a2";

  // GraphSmile always reads all three modalities and always normalises the text; a merc model
  // built otherwise computes another function, so refuse instead of importing part of it.
  for (int m = 0; m < data::kNumModalities; ++m)
    MERC_CHECK(dims.use[m],
               "graphsmile upstream names: GraphSmile always uses text, audio and visual, but this model leaves out "
               "{} (model.modalities); import into a model that uses all three",
               data::modality_name(static_cast<data::Modality>(m)));
  MERC_CHECK(c->text_batchnorm,
             "graphsmile upstream names: GraphSmile normalises every text layer (batchnorms_t); set "
             "model.text_batchnorm: true to import its weights");
  MERC_CHECK(c->edge_weights == "position",
             "graphsmile upstream names: the checkpoint's learned edge weights (hetergconv_*.edge_weight) need "
             "model.edge_weights: position, got '{}'", c->edge_weights);

  const std::vector<int64_t> read = text_layers_read(c->text_mode);
  for (int64_t l = 0; l < 4; ++l) {
    const std::string up = fmt::format("batchnorms_t.{}", l);
    if (std::find(read.begin(), read.end(), l) != read.end())
      t.batch_norm(up, fmt::format("text_bn{}", l));
    else
      t.ignore_prefix(up + ".", fmt::format("text_mode '{}' does not read RoBERTa layer {}: its BatchNorm runs in "
                                            "the forward but its output is discarded", c->text_mode, l));
  }
  t.linear("dim_layer_t.0", "proj_text");
  t.linear("dim_layer_a.0", "proj_audio");
  t.linear("dim_layer_v.0", "proj_visual");

  static const char* kPairs[] = {"tv", "ta", "va"};
  for (size_t p = 0; p < 3; ++p) {
    const std::string up = std::string("hetergconv_") + kPairs[p];
    const std::string mine = std::string("graph_") + kPairs[p];
    t.copy(up + ".edge_weight", mine + ".edge_weight");
    for (int64_t i = 0; i < c->heter_layers[p]; ++i) {
      t.copy(fmt::format("{}.hetergcn_layers.{}.hetergconv.weight", up, i), fmt::format("{}.conv_weight_{}", mine, i));
      t.copy(fmt::format("{}.hetergcn_layers.{}.hetergconv.bias", up, i), fmt::format("{}.conv_bias_{}", mine, i));
      t.linear(fmt::format("{}.fc_layers.{}.0", up, i), fmt::format("{}.mlps.{}", mine, i));
    }
    t.ignore_prefix(up + ".fc_layer.0.",
                    "HeterGConv_Edge.fc_layer: the template module fc_layers are deep-copied from; never called");
  }
  t.linear("modal_fusion.0", "fusion");
  t.linear("emo_output", "emotion_head");

  // merc builds the auxiliary heads only when the sentiments exist and their weights are > 0.
  const bool has_sentiment = dims.task == data::Task::kRegression || !c->sentiment_map.empty();
  if (has_sentiment && c->sentiment_weight > 0)
    t.linear("sen_output", "sentiment_head");
  else
    t.ignore_prefix("sen_output.", "the sentiment head is off in this config (no sentiment_map, or sentiment_weight "
                                   "0); it feeds only the training loss, not the emotion output");
  if (has_sentiment && c->shift_weight > 0)
    t.linear("senshift.shift_output_layer.0", "shift_head");
  else
    t.ignore_prefix("senshift.", "the sentiment-shift head is off in this config (no sentiment_map, or shift_weight "
                                 "0); it feeds only the training loss, not the emotion output");
  return t;
}

}  // namespace merc::models::upstream
