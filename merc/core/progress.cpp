#include "merc/core/progress.h"

#include <unistd.h>

#include <cmath>

#include <fmt/format.h>

#include "merc/core/error.h"

namespace merc {

ProgressMode parse_progress_mode(const std::string& text, std::FILE* stream) {
  if (text == "bar") return ProgressMode::kBar;
  if (text == "log") return ProgressMode::kLog;
  if (text == "none") return ProgressMode::kNone;
  MERC_CHECK(text == "auto", "progress mode: expected auto, bar, log or none, got '{}'", text);
  return stream && isatty(fileno(stream)) ? ProgressMode::kBar : ProgressMode::kLog;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

ProgressBar::ProgressBar(ProgressMode mode, std::FILE* stream, std::string label, int64_t total)
    : mode_(mode), stream_(stream), label_(std::move(label)), total_(total), start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(int64_t done, const std::string& status) {
  if (mode_ != ProgressMode::kBar || !stream_) return;
  const auto now = std::chrono::steady_clock::now();
  // Redraw at most 10 times a second; always draw the last step.
  if (drawn_ && done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double frac = total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  const double eta = done > 0 ? elapsed * (1.0 - frac) / frac : NAN;
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(frac * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, ' ');
  fmt::print(stream_, "\r\033[K{} [{}] {}/{} {} | {} < {}", label_, bar, done, total_, status, format_duration(elapsed),
             format_duration(eta));
  std::fflush(stream_);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (mode_ == ProgressMode::kBar && drawn_ && stream_) {
    fmt::print(stream_, "\r\033[K");
    std::fflush(stream_);
    drawn_ = false;
  }
}

}  // namespace merc
