#include "merc/models/upstream/m3net_encoder_names.h"

#include <string>

#include "merc/core/error.h"

namespace merc::models::upstream {

void add_m3net_encoder_names(NameTable& t, const M3netEncoderOptions& e, const ModelDims& dims, const char* model) {
  const bool text = dims.use[static_cast<size_t>(data::Modality::kText)];
  const bool audio = dims.use[static_cast<size_t>(data::Modality::kAudio)];
  const bool visual = dims.use[static_cast<size_t>(data::Modality::kVisual)];
  if (text) {
    MERC_CHECK(e.text_layers == 4,
               "{}: the upstream model normalises exactly four RoBERTa layers (normBNa..d); model.text_layers = {} "
               "has no upstream counterpart",
               model, e.text_layers);
    const char* letters = "abcd";
    for (int i = 0; i < 4; ++i) {
      const std::string bn = std::string("normBN") + letters[i], ln = std::string("normLN") + letters[i];
      if (e.norm == "BN")
        t.batch_norm(bn, "encoder.norm_bn" + std::to_string(i));
      else
        t.ignore_prefix(bn + ".", "created always; the forward uses the BatchNorms only with --norm BN");
      if (e.norm == "LN")
        t.layer_norm(ln, "encoder.norm_ln" + std::to_string(i));
      else
        t.ignore_prefix(ln + ".", "created always; the forward uses the LayerNorms only with --norm LN");
    }
    if (e.text_linear)
      t.linear("linear_l", "encoder.linear_l");
    else
      t.ignore_prefix("linear_l.", "created always; the forward skips it on MELD (dataset == 'MELD')");
    t.rnn("gru_l", e.pack_text ? "encoder.gru_l.gru" : "encoder.gru_l", 2, true);
  }
  if (audio) t.linear("linear_a", "encoder.linear_a");
  if (visual) t.linear("linear_v", "encoder.linear_v");
}

}  // namespace merc::models::upstream
