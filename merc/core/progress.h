#pragma once
// Progress reporting for long work. On a terminal: one self-overwriting bar line with counts, ETA
// and live values ("epoch 3/30 [######    ] 12/40 loss 0.523 | 0:04 < 0:06"). Elsewhere (logs,
// CI, pipes): nothing per step; callers print one plain line per finished unit instead.

#include <chrono>
#include <cstdio>
#include <string>

namespace merc {

enum class ProgressMode { kBar, kLog, kNone };

// "auto" -> kBar when `stream` is a terminal, else kLog. "bar" | "log" | "none" as named.
ProgressMode parse_progress_mode(const std::string& text, std::FILE* stream);

class ProgressBar {
 public:
  ProgressBar(ProgressMode mode, std::FILE* stream, std::string label, int64_t total);
  ~ProgressBar();
  // Advances to `done` units with a short status (e.g. "loss 0.523").
  void update(int64_t done, const std::string& status = "");
  // Clears the bar line (bar mode) so the caller can print its summary line.
  void finish();

 private:
  ProgressMode mode_;
  std::FILE* stream_;
  std::string label_;
  int64_t total_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
  bool drawn_ = false;
};

// "1:02:03" / "4:05".
std::string format_duration(double seconds);

}  // namespace merc
