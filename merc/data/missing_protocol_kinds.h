#pragma once
// The concrete missing-modality protocols behind the registry table in missing_protocol.cpp, and
// the pure functions they are built from (exposed for tests and for documentation).
//
// random:<rate> (GCNet / MoMKE / ComP, method_reference.md §2.4a). What the published ComP code
// (WenjueHE/2026-AAAI-ComP ComP/train_mr.py, MoMKE's layout) does per batch, reproduced here:
//   1. host  = random_mask(3, L = B*T, rate)   (GCNet columns a, t, v; rows include padding)
//   2. guest = random_mask(3, L = B*T, rate)   (drawn even when no utterance uses it)
//   3. row r = b*T + t (numpy reshape of a column to (batch, seqlen)); utterance (b, t) takes the
//      host row when speaker[b, t] == 0 and the guest row otherwise (generate_inputs' where on
//      qmask; padding has speaker 0 and takes the host row).
//   4. GCNet columns (a, t, v) go to merc's (text, audio, visual) as keep[.., kText] = col 1,
//      keep[.., kAudio] = col 0, keep[.., kVisual] = col 2.
// kPerBatch: one NumpyRandomState seeded once (np.random.seed(seed); seeds >= 2^32 as
// np.random.seed([low, high])), advancing over every draw in train and eval alike. With the same
// seed, the same batches in the same order, the same T and no other np.random use in between, the
// masks equal ComP's bit for bit. Differences from the published code to know about: GCNet's own
// train_gcnet.py uses row r = t*B + b (reshape to (seqlen, batch)), same distribution, other rows;
// ComP pads every batch to a fixed T (65 for MOSI, 150 otherwise), so a bit-exact ComP replay needs
// batches collated to that T; any other np.random call between batches would have to be replayed
// too. Where GCNet's loop could never finish for L rows (L = 33 at rate 0.5; Python hangs),
// host and guest are drawn over the next finishable length and cut to L rows.
// kFixed: dialogue d of length n draws host then guest with random_mask(3, n, rate)
// from its own NumpyRandomState seeded with dialogue_seed(seed, id); padding rows are false.
//
// imder:<rate> (IMDer protocol as run by RoHyDR, Siowllience/RoHyDR trains/mainNets/ROHYDR.py):
// the k-th batch of a pass over N batches (counters reset every pass, train and eval alike) is
//   "two missing" while  c2 / N10 < miss_2[i]  (c2 = two-missing batches so far),
//   else "one missing" while c1 / N10 < miss_1[i], else complete,
// with N10 = round_half_even(N / 10) * 10 (numpy's np.round), i = 10*rate - 1,
// miss_2 = {0.1,0.2,0.3,0.5,0.7,0.9,1.0}, miss_1 = {0.1,0.2,0.3,0.2,0.1,0,0}; expected missing
// fraction (2*miss_2 + miss_1)/3 = rate for rate <= 0.6 and 2/3 for 0.7 (when N is a multiple of
// 10). Quirk kept: for N <= 5, N10 = 0 and numpy's 0/0.0 = NaN fails every test, so every batch is
// complete (a warning is logged once). Every utterance of a batch keeps the same modalities: two
// missing keeps column randint(0, 3), one missing drops column randint(0, 3) (GCNet column order
// a, t, v), drawn from a NumpyRandomState seeded once with the seed. RoHyDR uses Python's random.sample inside every forward call (3 per training step); that
// stream is NOT reproduced (one draw per batch here), only the schedule is exact.

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "merc/data/missing_protocol.h"

namespace merc::data {

// Factories for the registry table (argument text, seed, mode).
std::unique_ptr<MissingProtocol> make_complete_protocol(const std::string& arg, uint64_t seed, RedrawMode mode);
std::unique_ptr<MissingProtocol> make_fixed_protocol(const std::string& arg, uint64_t seed, RedrawMode mode);
std::unique_ptr<MissingProtocol> make_drop_protocol(const std::string& arg, uint64_t seed, RedrawMode mode);
std::unique_ptr<MissingProtocol> make_random_protocol(const std::string& arg, uint64_t seed, RedrawMode mode);
std::unique_ptr<MissingProtocol> make_imder_protocol(const std::string& arg, uint64_t seed, RedrawMode mode);

// "a", "tv", "vta" ... -> flags in merc's modality order (text, audio, visual). Empty text,
// letters other than a/t/v, or a repeated letter -> merc::Error naming `spec`.
std::array<bool, 3> parse_modality_letters(const std::string& letters, const std::string& spec);
// Flags in merc order -> letters in the canonical order a, t, v ("" when none).
std::string modality_letters(const std::array<bool, 3>& flags);

// "0.3" -> 0.3: digits[.digits] only (no sign, exponent, spaces, nan/inf); merc::Error naming `spec`.
double parse_rate(const std::string& text, const std::string& spec);
// Python's repr of a float: 0.3 -> "0.3", 0 -> "0.0".
std::string format_rate(double rate);

// FNV-1a 64-bit over the 8 little-endian bytes of `seed` followed by the bytes of `dialogue_id`:
// a stable per-dialogue seed (std::hash is not stable across libraries or runs).
uint64_t dialogue_seed(uint64_t seed, const std::string& dialogue_id);

enum class ImderBatchKind { kTwoMissing, kOneMissing, kComplete };
// Number of batches of each kind at the start of a pass (two-missing first, then one-missing).
struct ImderCounts {
  int64_t two_missing = 0;
  int64_t one_missing = 0;
};
// rate_tenths in 1..7 (imder:0.3 -> 3); num_batches >= 1.
ImderCounts imder_counts(int rate_tenths, int64_t num_batches);
ImderBatchKind imder_batch_kind(int rate_tenths, int64_t batch_index, int64_t num_batches);

}  // namespace merc::data
