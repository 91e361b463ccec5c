// heat_map and scatter_plot of plot.h: validation at build time, drawing at render time.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <plstream.h>

#include "merc/analysis/plot.h"
#include "merc/analysis/plot_frame.h"
#include "merc/core/error.h"

namespace merc::analysis {

namespace plot_maps_detail {

using namespace plot_frame;

// Viridis (matplotlib's default map) at five anchors: perceptually uniform, readable in grey and
// with the common colour-vision deficiencies.
constexpr std::array<Rgb, 5> kViridis = {{{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}}};

Rgb viridis(double t) {
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * static_cast<double>(kViridis.size() - 1);
  const size_t i = std::min(static_cast<size_t>(t), kViridis.size() - 2);
  const double f = t - static_cast<double>(i);
  auto mix = [f](uint8_t a, uint8_t b) { return static_cast<uint8_t>(std::lround(a + f * (b - a))); };
  return {mix(kViridis[i].r, kViridis[i + 1].r), mix(kViridis[i].g, kViridis[i + 1].g),
          mix(kViridis[i].b, kViridis[i + 1].b)};
}

// Relative luminance (ITU-R BT.709 weights): white text on dark cells, black on light ones.
bool is_dark(Rgb c) { return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b < 140.0; }

void fill_rect(plstream& pls, double x0, double x1, double y0, double y1) {
  const PLFLT bx[4] = {x0, x1, x1, x0}, by[4] = {y0, y0, y1, y1};
  pls.fill(4, bx, by);
}

void draw_colour_bar(plstream& pls, const Frame& bar, Range v, const std::string& label) {
  constexpr int kSteps = 64;
  pls.vpor(bar.x0, bar.x1, bar.y0, bar.y1);
  pls.wind(0.0, 1.0, v.lo, v.hi);
  for (int k = 0; k < kSteps; ++k) {
    const double a = v.lo + (v.hi - v.lo) * k / kSteps, b = v.lo + (v.hi - v.lo) * (k + 1) / kSteps;
    set_colour(pls, viridis((k + 0.5) / kSteps));
    fill_rect(pls, 0.0, 1.0, a, b);
  }
  set_ink(pls);
  pls.box("bc", 0.0, 0, "bcmstv", 0.0, 0);
  if (!label.empty()) pls.mtex("r", 5.0, 0.5, 0.5, plot_text(label).c_str());
}

void draw_heat_map(plstream& pls, const HeatMapSpec& spec) {
  const size_t rows = spec.row_names.size(), cols = spec.col_names.size();
  const Range v = padded_range(spec.values, 0.0);
  // Room on the left for the row names (in character widths), on the right for the colour bar.
  const double ch = char_height_mm(pls) / page_width_mm(pls);
  const double name_chars = kGlyphAspect * static_cast<double>(longest_text(spec.row_names));
  const double name_room = std::min(0.3, (1.5 + name_chars) * ch);
  const Frame frame{0.05 + name_room + 2.5 * ch, 0.78, kBottomMargin, kTopMargin};
  pls.vpor(frame.x0, frame.x1, frame.y0, frame.y1);
  pls.wind(0.0, static_cast<double>(cols), 0.0, static_cast<double>(rows));
  const double text_scale = std::clamp(10.0 / static_cast<double>(std::max(rows, cols)), 0.55, 1.0);
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) {
      const double value = spec.values[r * cols + c];
      const Rgb fill = viridis((value - v.lo) / (v.hi - v.lo));
      const double top = static_cast<double>(rows - r);  // row 0 at the top
      set_colour(pls, fill);
      fill_rect(pls, static_cast<double>(c), static_cast<double>(c + 1), top - 1.0, top);
      set_colour(pls, is_dark(fill) ? Rgb{255, 255, 255} : Rgb{0, 0, 0});
      pls.schr(0.0, text_scale);
      const std::string text = spec.cell_text.empty() ? format_value(value, spec.value_decimals)
                                                      : spec.cell_text[r * cols + c];
      pls.ptex(static_cast<double>(c) + 0.5, top - 0.5, 1.0, 0.0, 0.5, plot_text(text).c_str());
      pls.schr(0.0, 1.0);
    }
  set_ink(pls);
  pls.box("bc", 0.0, 0, "bc", 0.0, 0);
  pls.schr(0.0, fitting_text_scale(pls, spec.col_names, (frame.x1 - frame.x0) / static_cast<double>(cols)));
  for (size_t c = 0; c < cols; ++c)
    pls.mtex("b", 1.2, (static_cast<double>(c) + 0.5) / static_cast<double>(cols), 0.5,
             plot_text(spec.col_names[c]).c_str());
  pls.schr(0.0, 1.0);
  for (size_t r = 0; r < rows; ++r)
    pls.mtex("lv", 0.6, 1.0 - (static_cast<double>(r) + 0.5) / static_cast<double>(rows), 1.0,
             plot_text(spec.row_names[r]).c_str());
  if (!spec.x_label.empty()) pls.mtex("b", 3.2, 0.5, 0.5, plot_text(spec.x_label).c_str());
  if (!spec.y_label.empty())
    pls.mtex("l", 2.4 + name_chars, 0.5, 0.5,
             plot_text(spec.y_label).c_str());
  if (!spec.title.empty()) {
    pls.schr(0.0, 1.25);
    pls.mtex("t", 1.4, 0.5, 0.5, plot_text(spec.title).c_str());
    pls.schr(0.0, 1.0);
  }
  draw_colour_bar(pls, Frame{0.82, 0.85, frame.y0, frame.y1}, v, spec.colour_bar_label);
}

// ---- scatter ----

void draw_panel(plstream& pls, const ScatterPanel& panel, const Frame& frame, double point_size) {
  std::vector<double> xs, ys;
  for (const auto& g : panel.groups) {
    xs.insert(xs.end(), g.x.begin(), g.x.end());
    ys.insert(ys.end(), g.y.begin(), g.y.end());
  }
  Range x = padded_range(xs, 0.05), y = padded_range(ys, 0.05);
  if (panel.identity_line) {  // the same scale on both axes, so y = x is the diagonal
    x = y = Range{std::min(x.lo, y.lo), std::max(x.hi, y.hi)};
  }
  draw_axes(pls, frame, x, y, {panel.title, panel.x_label, panel.y_label});
  if (panel.identity_line) {
    set_colour(pls, Rgb{90, 90, 90});
    pls.lsty(2);
    const PLFLT lx[2] = {x.lo, x.hi}, ly[2] = {y.lo, y.hi};
    pls.line(2, lx, ly);
    pls.lsty(1);
  }
  pls.schr(0.0, 0.55 * point_size);
  for (size_t g = 0; g < panel.groups.size(); ++g) {
    const ScatterGroup& group = panel.groups[g];
    if (group.x.empty()) continue;
    // Slightly transparent so overlapping points of other groups show through.
    set_colour(pls, series_colour(g), 0.75);
    pls.string(static_cast<PLINT>(group.x.size()), group.x.data(), group.y.data(), marker(g));
  }
  pls.schr(0.0, 1.0);
}

void draw_scatter(plstream& pls, const ScatterSpec& spec) {
  std::vector<LegendEntry> legend;
  for (const auto& panel : spec.panels)
    for (size_t g = 0; g < panel.groups.size(); ++g) {
      if (g >= legend.size()) legend.push_back({"", series_colour(g), false, false, marker(g)});
      if (legend[g].label.empty()) legend[g].label = panel.groups[g].label;
    }
  const double lw = legend_width(pls, legend);
  const double top = spec.title.empty() ? kTopMargin : kTopMargin - 0.07;
  const double left = left_margin(pls), right = 1.0 - 0.03 - lw, gap = left;
  const double n = static_cast<double>(spec.panels.size());
  const double width = (right - left - gap * (n - 1.0)) / n;
  for (size_t p = 0; p < spec.panels.size(); ++p) {
    const double x0 = left + static_cast<double>(p) * (width + gap);
    draw_panel(pls, spec.panels[p], Frame{x0, x0 + width, kBottomMargin, top}, spec.point_size);
  }
  if (!spec.title.empty()) {
    pls.vpor(0.0, 1.0, 0.0, 1.0);
    pls.wind(0.0, 1.0, 0.0, 1.0);
    set_ink(pls);
    pls.schr(0.0, 1.35);
    pls.ptex(0.5, 0.955, 1.0, 0.0, 0.5, plot_text(spec.title).c_str());
    pls.schr(0.0, 1.0);
  }
  draw_legend(pls, legend, right + 0.03, top);
}

}  // namespace plot_maps_detail

Plot heat_map(const HeatMapSpec& spec, PlotSize size) {
  plot_maps_detail::check_plot_size(size);
  MERC_CHECK(!spec.row_names.empty() && !spec.col_names.empty(), "heat map '{}': no rows or no columns ({} x {})",
             spec.title, spec.row_names.size(), spec.col_names.size());
  const size_t cells = spec.row_names.size() * spec.col_names.size();
  MERC_CHECK(spec.values.size() == cells, "heat map '{}': {} values for {} x {} cells", spec.title,
             spec.values.size(), spec.row_names.size(), spec.col_names.size());
  MERC_CHECK(spec.cell_text.empty() || spec.cell_text.size() == cells, "heat map '{}': {} cell texts for {} cells",
             spec.title, spec.cell_text.size(), cells);
  for (double v : spec.values) MERC_CHECK(std::isfinite(v), "heat map '{}': a non-finite value", spec.title);
  return Plot([spec](plstream& pls) { plot_maps_detail::draw_heat_map(pls, spec); }, size);
}

Plot scatter_plot(const ScatterSpec& spec, PlotSize size) {
  plot_maps_detail::check_plot_size(size);
  MERC_CHECK(!spec.panels.empty(), "scatter plot '{}': no panels", spec.title);
  MERC_CHECK(spec.point_size > 0.0 && spec.point_size <= 10.0, "scatter plot '{}': point_size {} outside (0, 10]",
             spec.title, spec.point_size);
  for (const auto& panel : spec.panels) {
    MERC_CHECK(!panel.groups.empty(), "scatter plot '{}': panel '{}' has no groups", spec.title, panel.title);
    size_t points = 0;
    for (const auto& g : panel.groups) {
      MERC_CHECK(g.x.size() == g.y.size(), "scatter plot '{}': group '{}' has {} x values but {} y values",
                 spec.title, g.label, g.x.size(), g.y.size());
      points += g.x.size();
    }
    MERC_CHECK(points > 0, "scatter plot '{}': panel '{}' has no points", spec.title, panel.title);
  }
  return Plot([spec](plstream& pls) { plot_maps_detail::draw_scatter(pls, spec); }, size);
}

}  // namespace merc::analysis
