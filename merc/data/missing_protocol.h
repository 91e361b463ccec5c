#pragma once
// Missing-modality protocols as data transforms (method_reference.md §2.4): a protocol draws a
// keep mask for a DialogueBatch, apply_missing removes the dropped modalities from the batch.
// Models never see the protocol, only the batch's modality_mask and zeroed features.
//
// Spec syntax (`NAME` or `NAME:ARG`, no spaces; letters a = audio, t = text, v = visual, in any order,
// no repeats; canonical text writes them in the order a, t, v and rates in Python's repr):
//   complete            every modality the data has (the ERC default)
//   fixed:<kept>        MoMKE test conditions {a, t, v, at, av, tv, atv}: the NAMED modalities are
//                       KEPT, the others dropped, for every utterance (wxxv/MoMKE utils.py
//                       generate_mask); e.g. fixed:at = visual missing
//   drop:<missing>      CADGL's scenarios: the NAMED modalities are MISSING for every utterance
//                       (premiree/CDAGL scripts/evaluate.py lists audio, visual, text, audio+visual,
//                       audio+text, visual+text missing); e.g. drop:av = only text left. drop:X is
//                       fixed:<complement of X>; both names exist so a spec reads like its paper
//   random:<rate>       GCNet/MoMKE/ComP random missing rate in [0, 0.7] (§2.4a): see
//                       missing_protocol_kinds.h for the exact draw and its row order
//   imder:<rate>        IMDer/RoHyDR batch schedule, rate in {0.1, ..., 0.7} (§2.4c)
//
// Redraw modes: kPerBatch = one seeded stream, new masks for every batch (the published protocols);
// kFixed = each dialogue's mask is a pure function of (seed, dialogue id): identical every epoch and
// independent of batch composition and order (for a fixed, shareable test condition). Deterministic
// protocols (complete, fixed, drop) are the same in both modes; imder is a schedule over batch
// positions and has no fixed mode (asking for one is an error).

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "merc/data/batch.h"

namespace merc::data {

// The parsed text of a spec: "random:0.3" -> {"random", "0.3"}; "complete" -> {"complete", ""}.
// Syntax only; the protocol's factory validates the argument.
struct ProtocolSpec {
  std::string name;
  std::string arg;

  // Throws merc::Error for an empty text, an empty name or argument around ':', or characters
  // outside [a-z0-9_.-] (so "random: 0.3" and "Random:0.3" fail loudly).
  static ProtocolSpec parse(const std::string& text);
  std::string to_string() const;  // name, or name:arg
};

enum class RedrawMode { kPerBatch, kFixed };
const char* redraw_mode_name(RedrawMode mode);  // "per_batch" / "fixed"
RedrawMode parse_redraw_mode(const std::string& text);  // the names above; merc::Error otherwise

// Where a batch sits in its pass over a loader (the IMDer schedule needs it; others ignore it).
struct BatchPosition {
  int64_t epoch = 0;
  int64_t batch_index = 0;  // 0-based within the pass
  int64_t num_batches = 1;  // batches in the pass (len(loader))
};

class MissingProtocol {
 public:
  virtual ~MissingProtocol() = default;
  virtual std::string spec() const = 0;  // canonical text, e.g. "random:0.3"

  // Keep mask, bool, in the batch's layout: (B, T, 3) for batch-major, (T, B, 3) for time-major,
  // modality order text, audio, visual (Modality::kText/kAudio/kVisual), on the batch's device.
  // The mask is the same whichever layout the batch has. Padding positions may hold anything:
  // apply_missing ANDs with the utterance mask.
  virtual torch::Tensor draw(const DialogueBatch& batch, const BatchPosition& pos) = 0;

  // The generator state for checkpoint/resume; "" for protocols without one, whose
  // set_rng_state accepts only "" (anything else is a merc::Error).
  virtual std::string rng_state() const;
  virtual void set_rng_state(const std::string& state);
};

using ProtocolFactory =
    std::function<std::unique_ptr<MissingProtocol>(const std::string& arg, uint64_t seed, RedrawMode mode)>;

struct ProtocolInfo {
  std::string name;
  std::string arg_help;     // e.g. "<rate> in [0, 0.7]"; "" when the protocol takes no argument
  std::string description;  // one line with the source
  ProtocolFactory make;
};

// THE registry table (missing_protocol.cpp), in display order, for `merc list protocols`.
const std::vector<ProtocolInfo>& missing_protocols();

// Parses `spec` and builds the protocol. Unknown name -> merc::UnknownNameError listing the valid
// names; bad argument (rate out of range, unknown or repeated letters, missing or extra argument,
// fixed mode for imder) -> merc::Error saying what is accepted.
std::unique_ptr<MissingProtocol> make_missing_protocol(const std::string& spec, uint64_t seed,
                                                       RedrawMode mode = RedrawMode::kPerBatch);

// Records the batch as collated in unmasked_features / unmasked_modality_mask (only the first time:
// they are left alone when already set), then
// batch.modality_mask &= keep & utterance_mask; features[m] set to 0 wherever keep[..., m] is
// false (masked_fill, so NaN/inf features are cleared too). Never re-enables a modality that is
// missing in the data. Sequences likewise: sequence[m] and sequence_mask[m] are zeroed / cleared
// wherever keep[..., m] is false, after being recorded in unmasked_sequence /
// unmasked_sequence_mask with the features. `keep` must be bool with modality_mask's shape (any
// device; moved to the batch's); a mismatch is a merc::Error. Undefined features and sequences
// (dataset lacks m, or has no sequences) stay undefined.
// batch.semantic is left untouched: a model reading it masks it by text availability itself.
void apply_missing(DialogueBatch& batch, const torch::Tensor& keep);

}  // namespace merc::data
