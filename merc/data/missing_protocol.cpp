#include "merc/data/missing_protocol.h"

#include <algorithm>

#include "merc/core/error.h"
#include "merc/data/missing_protocol_kinds.h"

namespace merc::data {
namespace {

bool valid_spec_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

std::string protocol_names() {
  std::string out;
  for (const ProtocolInfo& p : missing_protocols()) out += (out.empty() ? "" : ", ") + p.name;
  return out;
}

}  // namespace

ProtocolSpec ProtocolSpec::parse(const std::string& text) {
  MERC_CHECK(!text.empty(), "empty missing-modality protocol; expected NAME or NAME:ARG, e.g. random:0.3 ({})",
             protocol_names());
  const size_t colon = text.find(':');
  ProtocolSpec spec;
  spec.name = text.substr(0, colon);
  if (colon != std::string::npos) spec.arg = text.substr(colon + 1);
  MERC_CHECK(!spec.name.empty(), "missing-modality protocol '{}' has no name before ':'", text);
  MERC_CHECK(colon == std::string::npos || !spec.arg.empty(),
             "missing-modality protocol '{}' has ':' but no argument after it", text);
  for (char c : spec.name) {
    MERC_CHECK(valid_spec_char(c), "missing-modality protocol '{}': character '{}' is not allowed in a name", text,
               std::string(1, c));
  }
  for (char c : spec.arg) {
    MERC_CHECK(valid_spec_char(c), "missing-modality protocol '{}': character '{}' is not allowed in an argument",
               text, std::string(1, c));
  }
  return spec;
}

std::string ProtocolSpec::to_string() const { return arg.empty() ? name : name + ":" + arg; }

const char* redraw_mode_name(RedrawMode mode) { return mode == RedrawMode::kFixed ? "fixed" : "per_batch"; }

RedrawMode parse_redraw_mode(const std::string& text) {
  if (text == "per_batch") return RedrawMode::kPerBatch;
  if (text == "fixed") return RedrawMode::kFixed;
  throw Error(fmt::format("unknown mask redraw mode '{}'; valid: per_batch, fixed", text));
}

std::string MissingProtocol::rng_state() const { return {}; }

void MissingProtocol::set_rng_state(const std::string& state) {
  MERC_CHECK(state.empty(), "missing-modality protocol '{}' keeps no random state but was given {} bytes of one",
             spec(), state.size());
}

// THE table of missing-modality protocols (display order).
const std::vector<ProtocolInfo>& missing_protocols() {
  static const std::vector<ProtocolInfo> table = {
      {"complete", "", "every modality the data has (no masking)", make_complete_protocol},
      {"fixed", "<kept letters> from a,t,v",
       "MoMKE test condition: the named modalities are kept for every utterance, e.g. fixed:at", make_fixed_protocol},
      {"drop", "<missing letters> from a,t,v",
       "CADGL scenario: the named modalities are missing for every utterance, e.g. drop:av", make_drop_protocol},
      {"random", "<rate> in [0, 0.7]",
       "GCNet/MoMKE/ComP random missing rate (numpy-exact masks, host/guest by speaker), e.g. random:0.3",
       make_random_protocol},
      {"imder", "<rate> in 0.1, ..., 0.7",
       "IMDer/RoHyDR batch schedule: leading batches miss two, then one modality, rest complete, e.g. imder:0.3",
       make_imder_protocol},
  };
  return table;
}

std::unique_ptr<MissingProtocol> make_missing_protocol(const std::string& spec, uint64_t seed, RedrawMode mode) {
  const ProtocolSpec parsed = ProtocolSpec::parse(spec);
  const auto& table = missing_protocols();
  const auto it =
      std::find_if(table.begin(), table.end(), [&](const ProtocolInfo& p) { return p.name == parsed.name; });
  if (it == table.end()) {
    throw UnknownNameError(
        fmt::format("unknown missing-modality protocol '{}' in '{}'; valid: {}", parsed.name, spec, protocol_names()));
  }
  return it->make(parsed.arg, seed, mode);
}

namespace missing_protocol_detail {
// Zeros sequence[m] and sequence_mask[m] wherever keep[..., m] is false (no-op when the batch has
// no sequences of m).
void drop_sequence(DialogueBatch& batch, const torch::Tensor& keep, int m) {
  torch::Tensor& seq = batch.sequence[static_cast<size_t>(m)];
  torch::Tensor& mask = batch.sequence_mask[static_cast<size_t>(m)];
  if (!seq.defined()) return;
  MERC_CHECK(seq.dim() == 4 && mask.defined() && mask.dim() == 3 && seq.size(0) == keep.size(0) &&
                 seq.size(1) == keep.size(1),
             "apply_missing: {} sequences have shape {} (mask {}), expected ({}, {}, L, D) and ({}, {}, L)",
             modality_name(static_cast<Modality>(m)), fmt::format("{}", fmt::join(seq.sizes(), "x")),
             mask.defined() ? fmt::format("{}", fmt::join(mask.sizes(), "x")) : std::string("undefined"),
             keep.size(0), keep.size(1), keep.size(0), keep.size(1));
  const torch::Tensor kept = keep.select(2, m).unsqueeze(-1);  // (B, T, 1)
  mask = mask & kept;
  seq = seq.masked_fill(kept.logical_not().unsqueeze(-1), 0);
}
}  // namespace missing_protocol_detail

void apply_missing(DialogueBatch& batch, const torch::Tensor& keep) {
  MERC_CHECK(batch.modality_mask.defined() && batch.utterance_mask.defined(),
             "apply_missing: the batch has no modality_mask / utterance_mask");
  MERC_CHECK(keep.defined() && keep.scalar_type() == torch::kBool,
             "apply_missing: keep must be a bool tensor, got {}",
             keep.defined() ? std::string(c10::toString(keep.scalar_type())) : std::string("an undefined tensor"));
  MERC_CHECK(keep.sizes() == batch.modality_mask.sizes(), "apply_missing: keep has shape {} but modality_mask has {}",
             fmt::format("{}", fmt::join(keep.sizes(), "x")),
             fmt::format("{}", fmt::join(batch.modality_mask.sizes(), "x")));
  const torch::Tensor k = keep.to(batch.modality_mask.device());
  // Keep what was collated (once: a second protocol on the same batch keeps the first original).
  if (!batch.unmasked_modality_mask.defined()) {
    batch.unmasked_modality_mask = batch.modality_mask;
    batch.unmasked_features = batch.features;
    batch.unmasked_sequence = batch.sequence;
    batch.unmasked_sequence_mask = batch.sequence_mask;
    batch.protocol_keep = k;
  }
  batch.modality_mask = batch.modality_mask & k & batch.utterance_mask.unsqueeze(-1);
  for (int m = 0; m < kNumModalities; ++m) {
    torch::Tensor& f = batch.features[static_cast<size_t>(m)];
    if (!f.defined()) continue;
    MERC_CHECK(f.dim() == 3 && f.size(0) == k.size(0) && f.size(1) == k.size(1),
               "apply_missing: {} features have shape {}, expected ({}, {}, D)",
               modality_name(static_cast<Modality>(m)), fmt::format("{}", fmt::join(f.sizes(), "x")), k.size(0),
               k.size(1));
    f = f.masked_fill(k.select(2, m).logical_not().unsqueeze(-1), 0);
    missing_protocol_detail::drop_sequence(batch, k, m);
  }
}

}  // namespace merc::data
