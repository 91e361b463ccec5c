// line_chart and bar_chart of plot.h: validation at build time, drawing at render time.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <plstream.h>

#include "merc/analysis/plot.h"
#include "merc/analysis/plot_frame.h"
#include "merc/core/error.h"

namespace merc::analysis {

namespace plot_charts_detail {

using namespace plot_frame;

constexpr double kRightGap = 0.03;

Frame frame_beside_legend(plstream& pls, const std::vector<LegendEntry>& legend) {
  const double lw = legend_width(pls, legend);
  return Frame{left_margin(pls), 1.0 - kRightGap - lw, kBottomMargin, kTopMargin};
}

// Index ranges [begin, end) of consecutive points whose values are finite.
std::vector<std::pair<size_t, size_t>> finite_runs(const std::vector<double>& x, const std::vector<double>& y) {
  std::vector<std::pair<size_t, size_t>> runs;
  size_t i = 0;
  while (i < x.size()) {
    while (i < x.size() && !(std::isfinite(x[i]) && std::isfinite(y[i]))) ++i;
    const size_t b = i;
    while (i < x.size() && std::isfinite(x[i]) && std::isfinite(y[i])) ++i;
    if (i > b) runs.emplace_back(b, i);
  }
  return runs;
}

void draw_band(plstream& pls, const LineSeries& s, Rgb colour) {
  std::vector<double> hi(s.y.size()), lo(s.y.size());
  for (size_t i = 0; i < s.y.size(); ++i) {
    hi[i] = s.y[i] + s.band[i];
    lo[i] = s.y[i] - s.band[i];
  }
  set_colour(pls, colour, 0.22);
  for (const auto& [b, e] : finite_runs(s.x, hi)) {
    std::vector<PLFLT> px, py;
    for (size_t i = b; i < e; ++i) px.push_back(s.x[i]), py.push_back(hi[i]);
    for (size_t i = e; i-- > b;) px.push_back(s.x[i]), py.push_back(std::isfinite(lo[i]) ? lo[i] : s.y[i]);
    if (px.size() >= 3) pls.fill(static_cast<PLINT>(px.size()), px.data(), py.data());
  }
}

void draw_series(plstream& pls, const LineSeries& s, size_t index) {
  set_colour(pls, series_colour(index));
  pls.width(2.0);
  pls.lsty(s.dashed ? 2 : 1);
  for (const auto& [b, e] : finite_runs(s.x, s.y))
    pls.line(static_cast<PLINT>(e - b), s.x.data() + b, s.y.data() + b);
  pls.lsty(1);
  pls.width(1.0);
  if (!s.markers) return;
  pls.schr(0.0, 0.8);
  for (const auto& [b, e] : finite_runs(s.x, s.y))
    pls.string(static_cast<PLINT>(e - b), s.x.data() + b, s.y.data() + b, marker(index));
  pls.schr(0.0, 1.0);
}

void draw_marker_line(plstream& pls, const VerticalMarker& m, Range x, Range y) {
  set_colour(pls, Rgb{90, 90, 90});
  pls.lsty(3);
  const PLFLT mx[2] = {m.x, m.x}, my[2] = {y.lo, y.hi};
  pls.line(2, mx, my);
  pls.lsty(1);
  if (m.label.empty()) return;
  pls.schr(0.0, 0.8);
  // Horizontal near the top of the frame, on the side of the line with more room.
  const bool left = m.x > 0.5 * (x.lo + x.hi);
  const double gap = 0.008 * (x.hi - x.lo);
  pls.ptex(left ? m.x - gap : m.x + gap, y.hi - 0.04 * (y.hi - y.lo), 1.0, 0.0, left ? 1.0 : 0.0,
           plot_text(m.label).c_str());
  pls.schr(0.0, 1.0);
}

void draw_line_chart(plstream& pls, const LineChartSpec& spec) {
  std::vector<double> xs, ys;
  std::vector<LegendEntry> legend;
  for (size_t i = 0; i < spec.series.size(); ++i) {
    const LineSeries& s = spec.series[i];
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    for (size_t k = 0; k < s.y.size(); ++k) {
      ys.push_back(s.y[k]);
      if (!s.band.empty() && std::isfinite(s.band[k])) ys.push_back(s.y[k] + s.band[k]), ys.push_back(s.y[k] - s.band[k]);
    }
    legend.push_back({s.label, series_colour(i), true, s.dashed, s.markers ? marker(i) : ""});
  }
  for (const auto& m : spec.markers) xs.push_back(m.x);
  const Range x = padded_range(xs, 0.03), y = padded_range(ys, 0.08);
  const Frame frame = frame_beside_legend(pls, legend);
  const double x_tick = spec.integer_x ? std::max(1.0, std::ceil((x.hi - x.lo) / 10.0)) : 0.0;
  draw_axes(pls, frame, x, y, {spec.title, spec.x_label, spec.y_label}, x_tick);
  for (size_t i = 0; i < spec.series.size(); ++i)
    if (!spec.series[i].band.empty()) draw_band(pls, spec.series[i], series_colour(i));
  for (const auto& m : spec.markers) draw_marker_line(pls, m, x, y);
  for (size_t i = 0; i < spec.series.size(); ++i) draw_series(pls, spec.series[i], i);
  draw_legend(pls, legend, frame.x1 + kRightGap, frame.y1);
}

// ---- bars ----

constexpr double kGroupWidth = 0.8;  // of one category's slot

Range bar_value_range(const BarChartSpec& spec) {
  double hi = spec.y_min;
  for (const auto& s : spec.series)
    for (size_t k = 0; k < s.values.size(); ++k)
      hi = std::max(hi, s.values[k] + (s.errors.empty() ? 0.0 : s.errors[k]));
  if (spec.y_max > spec.y_min) return {spec.y_min, spec.y_max};
  // Headroom for the value labels above the bars.
  return {spec.y_min, hi > spec.y_min ? spec.y_min + 1.12 * (hi - spec.y_min) : spec.y_min + 1.0};
}

void draw_bar(plstream& pls, double left, double width, double base, double value, Rgb colour) {
  set_colour(pls, colour);
  const PLFLT bx[4] = {left, left + width, left + width, left};
  const PLFLT by[4] = {base, base, value, value};
  pls.fill(4, bx, by);
}

void draw_error_bar(plstream& pls, double centre, double width, double value, double error) {
  set_ink(pls);
  const PLFLT ex[2] = {centre, centre}, ey[2] = {value - error, value + error};
  pls.line(2, ex, ey);
  const double cap = std::min(0.25 * width, 0.08);  // half-width of the caps, in category slots
  for (double end : {value - error, value + error}) {
    const PLFLT cx[2] = {centre - cap, centre + cap}, cy[2] = {end, end};
    pls.line(2, cx, cy);
  }
}

void draw_bar_chart(plstream& pls, const BarChartSpec& spec) {
  const size_t n_cat = spec.categories.size(), n_series = spec.series.size();
  std::vector<LegendEntry> legend;
  for (size_t s = 0; s < n_series; ++s) legend.push_back({spec.series[s].label, series_colour(s), false, false, "", true});
  const Frame frame = frame_beside_legend(pls, legend);
  const Range x{-0.6, static_cast<double>(n_cat) - 0.4};
  const Range y = bar_value_range(spec);
  draw_axes(pls, frame, x, y, {spec.title, spec.x_label, spec.y_label}, 0.0, false);
  pls.schr(0.0, fitting_text_scale(pls, spec.categories, (frame.x1 - frame.x0) / (x.hi - x.lo)));
  for (size_t c = 0; c < n_cat; ++c)
    pls.mtex("b", 1.2, (static_cast<double>(c) - x.lo) / (x.hi - x.lo), 0.5, plot_text(spec.categories[c]).c_str());
  pls.schr(0.0, 1.0);
  const double width = kGroupWidth / static_cast<double>(n_series);
  pls.schr(0.0, n_cat * n_series > 16 ? 0.6 : 0.8);
  for (size_t s = 0; s < n_series; ++s) {
    const BarSeries& bs = spec.series[s];
    for (size_t c = 0; c < n_cat; ++c) {
      const double left = static_cast<double>(c) - 0.5 * kGroupWidth + width * static_cast<double>(s);
      const double v = std::max(bs.values[c], y.lo);
      draw_bar(pls, left, width, y.lo, std::min(v, y.hi), series_colour(s));
      const double err = bs.errors.empty() ? 0.0 : bs.errors[c];
      if (err > 0.0) draw_error_bar(pls, left + 0.5 * width, width, bs.values[c], err);
      if (!spec.value_labels) continue;
      set_ink(pls);
      const double top = std::min(v + err, y.hi) + 0.03 * (y.hi - y.lo);
      pls.ptex(left + 0.5 * width, top, 1.0, 0.0, 0.5, format_value(bs.values[c], spec.value_decimals).c_str());
    }
  }
  pls.schr(0.0, 1.0);
  draw_legend(pls, legend, frame.x1 + kRightGap, frame.y1);
}

}  // namespace plot_charts_detail

Plot line_chart(const LineChartSpec& spec, PlotSize size) {
  plot_charts_detail::check_plot_size(size);
  MERC_CHECK(!spec.series.empty(), "line chart '{}': no series", spec.title);
  bool any_finite = false;
  for (const auto& s : spec.series) {
    MERC_CHECK(!s.x.empty(), "line chart '{}': series '{}' has no points", spec.title, s.label);
    MERC_CHECK(s.x.size() == s.y.size(), "line chart '{}': series '{}' has {} x values but {} y values", spec.title,
               s.label, s.x.size(), s.y.size());
    MERC_CHECK(s.band.empty() || s.band.size() == s.y.size(),
               "line chart '{}': series '{}' has {} points but {} band half-widths", spec.title, s.label, s.y.size(),
               s.band.size());
    for (double b : s.band)
      MERC_CHECK(!(b < 0.0), "line chart '{}': series '{}' has a negative band half-width {}", spec.title, s.label, b);
    for (size_t k = 0; k < s.y.size(); ++k) any_finite = any_finite || (std::isfinite(s.x[k]) && std::isfinite(s.y[k]));
  }
  MERC_CHECK(any_finite, "line chart '{}': no finite point in any series", spec.title);
  return Plot([spec](plstream& pls) { plot_charts_detail::draw_line_chart(pls, spec); }, size);
}

Plot bar_chart(const BarChartSpec& spec, PlotSize size) {
  plot_charts_detail::check_plot_size(size);
  MERC_CHECK(!spec.categories.empty(), "bar chart '{}': no categories", spec.title);
  MERC_CHECK(!spec.series.empty(), "bar chart '{}': no series", spec.title);
  for (const auto& s : spec.series) {
    MERC_CHECK(s.values.size() == spec.categories.size(), "bar chart '{}': series '{}' has {} values for {} categories",
               spec.title, s.label, s.values.size(), spec.categories.size());
    MERC_CHECK(s.errors.empty() || s.errors.size() == s.values.size(),
               "bar chart '{}': series '{}' has {} values but {} error bars", spec.title, s.label, s.values.size(),
               s.errors.size());
    for (double v : s.values)
      MERC_CHECK(std::isfinite(v), "bar chart '{}': series '{}' has a non-finite value", spec.title, s.label);
    for (double e : s.errors)
      MERC_CHECK(std::isfinite(e) && e >= 0.0, "bar chart '{}': series '{}' has an error bar {} (want finite >= 0)",
                 spec.title, s.label, e);
  }
  return Plot([spec](plstream& pls) { plot_charts_detail::draw_bar_chart(pls, spec); }, size);
}

}  // namespace merc::analysis
