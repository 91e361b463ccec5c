#include "merc/analysis/plot_frame.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <plstream.h>

#include "merc/core/error.h"

namespace merc::analysis::plot_frame {

// cmap0 slots: 0 background (white), kScratch is re-coloured before every use.
constexpr int kScratch = 15;
constexpr Rgb kInk{0, 0, 0};
constexpr Rgb kGridColour{215, 215, 215};

void check_plot_size(PlotSize size) {
  MERC_CHECK(size.width >= 100 && size.height >= 100 && size.width <= 10000 && size.height <= 10000,
             "plot size {}x{} is outside 100..10000 per side", size.width, size.height);
}

const char* marker(size_t i) {
  // Eight shapes for the eight palette colours: no two series share colour and shape.
  static const char* const kMarkers[] = {"●", "■", "▲", "◆", "▼", "★", "◀", "▶"};
  return kMarkers[i % (sizeof(kMarkers) / sizeof(kMarkers[0]))];
}

Range padded_range(const std::vector<double>& values, double pad) {
  double lo = INFINITY, hi = -INFINITY;
  for (double v : values)
    if (std::isfinite(v)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  if (!std::isfinite(lo)) lo = hi = 0.0;
  if (hi - lo <= 0.0) {
    const double half = lo == 0.0 ? 0.5 : 0.05 * std::fabs(lo);
    return {lo - half, hi + half};
  }
  const double span = hi - lo;
  return {lo - pad * span, hi + pad * span};
}

void set_colour(plstream& pls, Rgb c, double alpha) {
  // scol0a then col0: re-selecting the slot makes PLplot pick up its new colour.
  pls.scol0a(kScratch, c.r, c.g, c.b, alpha);
  pls.col0(kScratch);
}

void set_ink(plstream& pls) { set_colour(pls, kInk); }

void draw_axes(plstream& pls, const Frame& frame, Range x, Range y, const AxesText& text, double x_tick,
               bool x_numbers) {
  pls.vpor(frame.x0, frame.x1, frame.y0, frame.y1);
  pls.wind(x.lo, x.hi, y.lo, y.hi);
  pls.width(1.0);
  pls.lsty(1);
  set_colour(pls, kGridColour);
  pls.box(x_numbers ? "g" : "", x_tick, 0, "g", 0.0, 0);
  set_ink(pls);
  pls.box(x_numbers ? "bcnst" : "bc", x_tick, 0, "bcnstv", 0.0, 0);
  if (!text.x_label.empty()) pls.mtex("b", x_numbers ? 3.2 : 3.6, 0.5, 0.5, plot_text(text.x_label).c_str());
  if (!text.y_label.empty()) pls.mtex("l", 4.6, 0.5, 0.5, plot_text(text.y_label).c_str());
  if (!text.title.empty()) {
    // Titles 25 % larger than the rest, smaller where a narrow panel needs it.
    pls.schr(0.0, fitting_text_scale(pls, {text.title}, frame.x1 - frame.x0, 1.25));
    pls.mtex("t", 1.4, 0.5, 0.5, plot_text(text.title).c_str());
    pls.schr(0.0, 1.0);
  }
}

double left_margin(plstream& pls) {
  // The y label sits 4.6 character heights left of the frame (draw_axes) and is one high.
  return std::max(0.09, 6.2 * char_height_mm(pls) / page_width_mm(pls));
}

double char_height_mm(plstream& pls) {
  PLFLT def = 0.0, ht = 0.0;
  pls.gchr(def, ht);
  return ht;
}

double page_width_mm(plstream& pls) {
  PLFLT x0 = 0, x1 = 0, y0 = 0, y1 = 0;
  pls.gspa(x0, x1, y0, y1);
  return x1 - x0;
}

double page_height_mm(plstream& pls) {
  PLFLT x0 = 0, x1 = 0, y0 = 0, y1 = 0;
  pls.gspa(x0, x1, y0, y1);
  return y1 - y0;
}

// Width of the sample (line / marker / box) in front of a legend label, in character heights.
constexpr double kSampleChars = 3.0;

size_t text_length(const std::string& text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

size_t longest_text(const std::vector<std::string>& names) {
  size_t n = 0;
  for (const auto& s : names) n = std::max(n, text_length(s));
  return n;
}

double fitting_text_scale(plstream& pls, const std::vector<std::string>& names, double slot_width,
                          double max_scale) {
  const double need_mm = kGlyphAspect * static_cast<double>(longest_text(names)) * char_height_mm(pls);
  const double have_mm = 0.95 * slot_width * page_width_mm(pls);
  return need_mm <= 0.0 ? max_scale : std::clamp(have_mm / need_mm, std::min(0.5, max_scale), max_scale);
}

double legend_width(plstream& pls, const std::vector<LegendEntry>& entries) {
  size_t longest = 0;
  for (const auto& e : entries) longest = std::max(longest, text_length(e.label));
  if (longest == 0) return 0.0;
  const double mm = char_height_mm(pls) * (kSampleChars + 2.5 + kGlyphAspect * static_cast<double>(longest));
  return std::min(0.45, mm / page_width_mm(pls));
}

void draw_legend(plstream& pls, const std::vector<LegendEntry>& entries, double x0, double y_top) {
  const double ch = char_height_mm(pls);
  const double step = 2.0 * ch / page_height_mm(pls);    // line spacing, normalised
  const double sample = kSampleChars * ch / page_width_mm(pls);
  pls.vpor(0.0, 1.0, 0.0, 1.0);
  pls.wind(0.0, 1.0, 0.0, 1.0);
  double y = y_top - 0.5 * step;
  for (const auto& e : entries) {
    if (e.label.empty()) continue;
    set_colour(pls, e.colour);
    if (e.box) {
      const PLFLT bx[4] = {x0, x0 + sample * 0.6, x0 + sample * 0.6, x0};
      const PLFLT by[4] = {y - 0.3 * step, y - 0.3 * step, y + 0.3 * step, y + 0.3 * step};
      pls.fill(4, bx, by);
    }
    if (e.line) {
      const PLFLT lx[2] = {x0, x0 + sample};
      const PLFLT ly[2] = {y, y};
      pls.width(2.0);
      pls.lsty(e.dashed ? 2 : 1);
      pls.line(2, lx, ly);
      pls.lsty(1);
      pls.width(1.0);
    }
    if (!e.marker.empty()) {
      const PLFLT mx = x0 + 0.5 * sample, my = y;
      pls.string(1, &mx, &my, e.marker.c_str());
    }
    set_ink(pls);
    pls.ptex(x0 + sample + 0.5 * ch / page_width_mm(pls), y, 1.0, 0.0, 0.0, plot_text(e.label).c_str());
    y -= step;
  }
}

std::string format_value(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  return fmt::format("{:.{}f}", v, std::max(0, decimals));
}

}  // namespace merc::analysis::plot_frame
