#include "merc/data/missing_protocol_kinds.h"

#include <charconv>
#include <cmath>

#include "merc/core/error.h"
#include "merc/core/log.h"
#include "merc/data/numpy_random.h"
#include "merc/data/random_mask.h"

namespace merc::data {
namespace {

// GCNet's mask column for each merc modality (merc order text, audio, visual; GCNet a, t, v).
constexpr std::array<int, kNumModalities> kGcnetColumn = {1, 0, 2};

// IMDer's schedule tables (RoHyDR ROHYDR.py), indexed by rate_tenths - 1.
constexpr std::array<double, 7> kImderMissTwo = {0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0};
constexpr std::array<double, 7> kImderMissOne = {0.1, 0.2, 0.3, 0.2, 0.1, 0.0, 0.0};

std::string spec_text(const std::string& name, const std::string& arg) {
  return ProtocolSpec{name, arg}.to_string();
}

void require_arg(const std::string& name, const std::string& arg, const char* example) {
  MERC_CHECK(!arg.empty(), "missing-modality protocol '{}' needs an argument, e.g. {}", name, example);
}

// Rows to draw for an L-row mask: L, or the next length at which GCNet's loop can finish (L = 33 at
// rate 0.5 is the only gap for V = 3 and rates in steps of 0.1). Python would hang there, so there
// is no reference to match; the extra rows are drawn and ignored.
int64_t drawable_rows(int64_t rows, double rate) {
  while (!random_mask_can_finish(rows, rate)) ++rows;
  return rows;
}

// Keep mask with the batch's modality_mask shape, same flags at every position.
torch::Tensor constant_keep(const DialogueBatch& batch, const std::array<bool, 3>& flags) {
  MERC_CHECK(batch.modality_mask.defined() && batch.modality_mask.dim() == 3,
             "missing-modality protocol: the batch has no (B, T, 3) modality_mask");
  const torch::Tensor row = torch::tensor({flags[0], flags[1], flags[2]}, torch::kBool);
  return row.view({1, 1, 3}).expand(batch.modality_mask.sizes()).contiguous().to(batch.modality_mask.device());
}

// The batch's speakers as a batch-major row-major (B*T) vector.
std::vector<int64_t> speakers_bt(const DialogueBatch& batch, int64_t B, int64_t T) {
  torch::Tensor s = batch.layout == BatchLayout::kTimeMajor ? batch.speaker.transpose(0, 1) : batch.speaker;
  MERC_CHECK(s.defined() && s.dim() == 2 && s.size(0) == B && s.size(1) == T,
             "missing-modality protocol: speaker tensor must be (B, T) = ({}, {}) batch-major", B, T);
  s = s.to(torch::kCPU, torch::kLong).contiguous();
  return std::vector<int64_t>(s.data_ptr<int64_t>(), s.data_ptr<int64_t>() + B * T);
}

// A (B, T, 3) CPU mask built batch-major, returned in the batch's layout and on its device.
torch::Tensor to_batch_layout(torch::Tensor keep_bt, const DialogueBatch& batch) {
  if (batch.layout == BatchLayout::kTimeMajor) keep_bt = keep_bt.transpose(0, 1).contiguous();
  return batch.modality_mask.defined() ? keep_bt.to(batch.modality_mask.device()) : keep_bt;
}

// complete, fixed:<kept>, drop:<missing>: the same flags everywhere, no randomness.
class ConstantProtocol : public MissingProtocol {
 public:
  ConstantProtocol(std::string spec, std::array<bool, 3> keep) : spec_(std::move(spec)), keep_(keep) {}
  std::string spec() const override { return spec_; }
  torch::Tensor draw(const DialogueBatch& batch, const BatchPosition&) override { return constant_keep(batch, keep_); }

 private:
  std::string spec_;
  std::array<bool, 3> keep_;
};

class RandomProtocol : public MissingProtocol {
 public:
  RandomProtocol(double rate, uint64_t seed, RedrawMode mode) : rate_(rate), seed_(seed), mode_(mode) {
    rng_.seed_u64(seed);
  }
  std::string spec() const override { return "random:" + format_rate(rate_); }

  torch::Tensor draw(const DialogueBatch& batch, const BatchPosition&) override {
    const int64_t B = batch.batch_size();
    const int64_t T = batch.max_length();
    const std::vector<int64_t> speaker = speakers_bt(batch, B, T);
    torch::Tensor keep = torch::zeros({B, T, kNumModalities}, torch::kBool);
    bool* out = keep.data_ptr<bool>();
    // Row r = b*T + t of `out` from row `src_row` of the host or guest mask.
    auto copy_row = [&](int64_t r, const RandomMask& host, const RandomMask& guest, int64_t src_row) {
      const RandomMask& src = speaker[static_cast<size_t>(r)] == 0 ? host : guest;
      for (int m = 0; m < kNumModalities; ++m) out[r * kNumModalities + m] = src.at(src_row, kGcnetColumn[m]) != 0;
    };
    if (mode_ == RedrawMode::kPerBatch) {
      const int64_t rows = drawable_rows(B * T, rate_);
      const RandomMask host = random_mask(rng_, rows, rate_);
      const RandomMask guest = random_mask(rng_, rows, rate_);
      for (int64_t r = 0; r < B * T; ++r) copy_row(r, host, guest, r);
    } else {
      const torch::Tensor lengths = batch.lengths.to(torch::kCPU, torch::kLong).contiguous();
      MERC_CHECK(lengths.numel() == B, "missing-modality protocol: {} lengths for {} dialogues", lengths.numel(), B);
      for (int64_t b = 0; b < B; ++b) {
        const int64_t n = lengths.data_ptr<int64_t>()[b];
        MERC_CHECK(n >= 0 && n <= T, "missing-modality protocol: dialogue '{}' has length {} outside 0..{}",
                   batch.dialogue_id[static_cast<size_t>(b)], n, T);
        NumpyRandomState rng;
        rng.seed_u64(dialogue_seed(seed_, batch.dialogue_id[static_cast<size_t>(b)]));
        const RandomMask host = random_mask(rng, drawable_rows(n, rate_), rate_);
        const RandomMask guest = random_mask(rng, drawable_rows(n, rate_), rate_);
        for (int64_t t = 0; t < n; ++t) copy_row(b * T + t, host, guest, t);
      }
    }
    return to_batch_layout(keep, batch);
  }

  std::string rng_state() const override {
    return mode_ == RedrawMode::kPerBatch ? rng_.state() : MissingProtocol::rng_state();
  }
  void set_rng_state(const std::string& state) override {
    if (mode_ == RedrawMode::kPerBatch) {
      rng_.set_state(state);
    } else {
      MissingProtocol::set_rng_state(state);
    }
  }

 private:
  double rate_;
  uint64_t seed_;
  RedrawMode mode_;
  NumpyRandomState rng_;
};

class ImderProtocol : public MissingProtocol {
 public:
  ImderProtocol(int rate_tenths, uint64_t seed) : rate_tenths_(rate_tenths) { rng_.seed_u64(seed); }
  std::string spec() const override { return "imder:" + format_rate(rate_tenths_ / 10.0); }

  torch::Tensor draw(const DialogueBatch& batch, const BatchPosition& pos) override {
    if (pos.num_batches <= 5 && !warned_small_) {
      warned_small_ = true;
      spdlog::warn("{}: a pass of {} batches has round(N/10)*10 = 0, so (as in RoHyDR) every batch is complete",
                   spec(), pos.num_batches);
    }
    std::array<bool, 3> keep = {true, true, true};
    switch (imder_batch_kind(rate_tenths_, pos.batch_index, pos.num_batches)) {
      case ImderBatchKind::kTwoMissing: {
        const int64_t kept = rng_.randint(0, 3);  // GCNet column a, t or v
        for (int m = 0; m < kNumModalities; ++m) keep[m] = kGcnetColumn[m] == kept;
        break;
      }
      case ImderBatchKind::kOneMissing: {
        const int64_t dropped = rng_.randint(0, 3);
        for (int m = 0; m < kNumModalities; ++m) keep[m] = kGcnetColumn[m] != dropped;
        break;
      }
      case ImderBatchKind::kComplete:
        break;
    }
    return constant_keep(batch, keep);
  }

  std::string rng_state() const override { return rng_.state(); }
  void set_rng_state(const std::string& state) override { rng_.set_state(state); }

 private:
  int rate_tenths_;
  NumpyRandomState rng_;
  bool warned_small_ = false;
};

}  // namespace

std::array<bool, 3> parse_modality_letters(const std::string& letters, const std::string& spec) {
  MERC_CHECK(!letters.empty(), "'{}': expected modality letters (a = audio, t = text, v = visual)", spec);
  std::array<bool, 3> flags = {false, false, false};
  for (char c : letters) {
    const int m = c == 't' ? index_of(Modality::kText)
                  : c == 'a' ? index_of(Modality::kAudio)
                  : c == 'v' ? index_of(Modality::kVisual)
                             : -1;
    MERC_CHECK(m >= 0, "'{}': '{}' is not a modality letter (a = audio, t = text, v = visual)", spec,
               std::string(1, c));
    MERC_CHECK(!flags[static_cast<size_t>(m)], "'{}': modality letter '{}' is repeated", spec, std::string(1, c));
    flags[static_cast<size_t>(m)] = true;
  }
  return flags;
}

std::string modality_letters(const std::array<bool, 3>& flags) {
  std::string out;
  if (flags[index_of(Modality::kAudio)]) out += 'a';
  if (flags[index_of(Modality::kText)]) out += 't';
  if (flags[index_of(Modality::kVisual)]) out += 'v';
  return out;
}

double parse_rate(const std::string& text, const std::string& spec) {
  // digits[.digits]: from_chars alone would also take "1e-1", "inf" and "nan".
  const size_t dot = text.find('.');
  auto all_digits = [](const std::string& s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
  };
  const bool ok = dot == std::string::npos ? all_digits(text)
                                          : all_digits(text.substr(0, dot)) && all_digits(text.substr(dot + 1));
  MERC_CHECK(ok, "'{}': '{}' is not a rate (write it like 0.3)", spec, text);
  double value = 0.0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  MERC_CHECK(result.ec == std::errc() && result.ptr == text.data() + text.size(), "'{}': '{}' is not a rate", spec,
             text);
  return value;
}

std::string format_rate(double rate) {
  std::string s = fmt::format("{}", rate);  // shortest round-trip digits, like Python's repr
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

uint64_t dialogue_seed(uint64_t seed, const std::string& dialogue_id) {
  constexpr uint64_t kOffset = 14695981039346656037ULL;
  constexpr uint64_t kPrime = 1099511628211ULL;
  uint64_t h = kOffset;
  for (int i = 0; i < 8; ++i) h = (h ^ ((seed >> (8 * i)) & 0xffU)) * kPrime;
  for (unsigned char c : dialogue_id) h = (h ^ c) * kPrime;
  return h;
}

ImderCounts imder_counts(int rate_tenths, int64_t num_batches) {
  MERC_CHECK(rate_tenths >= 1 && rate_tenths <= 7, "imder: rate must be one of 0.1 ... 0.7, got {}/10", rate_tenths);
  MERC_CHECK(num_batches >= 1, "imder: a pass needs at least one batch, got {}", num_batches);
  const double n10 = std::nearbyint(static_cast<double>(num_batches) / 10.0) * 10.0;  // np.round: half to even
  ImderCounts c;
  if (n10 == 0.0) return c;  // numpy: k / 0.0 = NaN, every comparison false
  const double two = kImderMissTwo[static_cast<size_t>(rate_tenths - 1)];
  const double one = kImderMissOne[static_cast<size_t>(rate_tenths - 1)];
  while (c.two_missing < num_batches && static_cast<double>(c.two_missing) / n10 < two) ++c.two_missing;
  while (c.two_missing + c.one_missing < num_batches && static_cast<double>(c.one_missing) / n10 < one) {
    ++c.one_missing;
  }
  return c;
}

ImderBatchKind imder_batch_kind(int rate_tenths, int64_t batch_index, int64_t num_batches) {
  const ImderCounts c = imder_counts(rate_tenths, num_batches);
  MERC_CHECK(batch_index >= 0 && batch_index < num_batches, "imder: batch index {} outside 0..{}", batch_index,
             num_batches - 1);
  if (batch_index < c.two_missing) return ImderBatchKind::kTwoMissing;
  if (batch_index < c.two_missing + c.one_missing) return ImderBatchKind::kOneMissing;
  return ImderBatchKind::kComplete;
}

std::unique_ptr<MissingProtocol> make_complete_protocol(const std::string& arg, uint64_t, RedrawMode) {
  MERC_CHECK(arg.empty(), "'{}': protocol 'complete' takes no argument", spec_text("complete", arg));
  return std::make_unique<ConstantProtocol>("complete", std::array<bool, 3>{true, true, true});
}

std::unique_ptr<MissingProtocol> make_fixed_protocol(const std::string& arg, uint64_t, RedrawMode) {
  require_arg("fixed", arg, "fixed:at (the KEPT modalities)");
  const std::array<bool, 3> keep = parse_modality_letters(arg, spec_text("fixed", arg));
  return std::make_unique<ConstantProtocol>("fixed:" + modality_letters(keep), keep);
}

std::unique_ptr<MissingProtocol> make_drop_protocol(const std::string& arg, uint64_t, RedrawMode) {
  require_arg("drop", arg, "drop:av (the MISSING modalities)");
  const std::array<bool, 3> drop = parse_modality_letters(arg, spec_text("drop", arg));
  MERC_CHECK(!(drop[0] && drop[1] && drop[2]), "'{}': dropping every modality leaves nothing to learn from",
             spec_text("drop", arg));
  return std::make_unique<ConstantProtocol>("drop:" + modality_letters(drop),
                                            std::array<bool, 3>{!drop[0], !drop[1], !drop[2]});
}

std::unique_ptr<MissingProtocol> make_random_protocol(const std::string& arg, uint64_t seed, RedrawMode mode) {
  require_arg("random", arg, "random:0.3");
  const std::string spec = spec_text("random", arg);
  const double rate = parse_rate(arg, spec);
  // GCNet asserts rate <= 0.7: from 2/3 on its scheme keeps exactly one modality per utterance, so a
  // larger rate would not mean what it says.
  MERC_CHECK(rate >= 0.0 && rate <= 0.7, "'{}': the random missing rate must be in [0, 0.7], got {}", spec, arg);
  return std::make_unique<RandomProtocol>(rate, seed, mode);
}

std::unique_ptr<MissingProtocol> make_imder_protocol(const std::string& arg, uint64_t seed, RedrawMode mode) {
  require_arg("imder", arg, "imder:0.3");
  const std::string spec = spec_text("imder", arg);
  const double rate = parse_rate(arg, spec);
  const double tenths = std::nearbyint(rate * 10.0);
  MERC_CHECK(std::fabs(rate * 10.0 - tenths) < 1e-9 && tenths >= 1.0 && tenths <= 7.0,
             "'{}': the imder rate must be one of 0.1, 0.2, ..., 0.7, got {}", spec, arg);
  MERC_CHECK(mode == RedrawMode::kPerBatch,
             "'{}': imder is a schedule over batch positions; it has no fixed (per-dialogue) redraw mode", spec);
  return std::make_unique<ImderProtocol>(static_cast<int>(tenths), seed);
}

}  // namespace merc::data
