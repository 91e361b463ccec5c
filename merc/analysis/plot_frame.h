#pragma once
// The pieces every chart of plot.h shares: palette and colour slots, axis ranges, the framed axes
// with grid, labels and title, and a legend drawn right of the plot. Internal to merc/analysis;
// all functions draw on an initialised plstream (plot.cpp opens one per render).

#include <array>
#include <string>
#include <vector>

#include "merc/analysis/plot.h"

namespace merc::analysis::plot_frame {

// Okabe & Ito (2008), "Color Universal Design": distinguishable with the common colour-vision
// deficiencies; ordered so the first colours are the most distinct.
inline constexpr std::array<Rgb, 8> kPalette = {{{0, 114, 178},
                                                 {230, 159, 0},
                                                 {0, 158, 115},
                                                 {213, 94, 0},
                                                 {204, 121, 167},
                                                 {86, 180, 233},
                                                 {240, 228, 66},
                                                 {0, 0, 0}}};

// Marker glyphs (drawn as text through the font), one shape per series so series differ in shape
// as well as colour.
const char* marker(size_t i);

struct Range {
  double lo = 0.0, hi = 1.0;
};
// min/max over the finite values (lo = hi = 0 when none), then widened by `pad` of the span on
// each side; a zero span widens to +-0.5 (or +-5 % of |value|) so the axis is never empty.
Range padded_range(const std::vector<double>& values, double pad);

// Margins in normalised page coordinates: the bottom one leaves room for tick numbers and the x
// label, the top one for the title.
inline constexpr double kBottomMargin = 0.13;
inline constexpr double kTopMargin = 0.9;

// merc::Error unless both sides are within 100..10000.
void check_plot_size(PlotSize size);

// Left margin (page-width fraction) with room for y tick numbers and the y label.
double left_margin(plstream& pls);

// Viewport in normalised page coordinates (0..1, origin bottom left).
struct Frame {
  double x0 = 0.1, x1 = 0.95, y0 = 0.12, y1 = 0.9;
};

struct AxesText {
  std::string title, x_label, y_label;
};

void set_colour(plstream& pls, Rgb c, double alpha = 1.0);
void set_ink(plstream& pls);  // black, opaque

// Sets viewport and window to frame / (x, y), draws the light grid, the box with ticks and
// numbers, the axis labels and the title. x_tick/y_tick 0 = PLplot's choice. x_numbers false:
// no numeric labels on x (the chart writes category names itself).
void draw_axes(plstream& pls, const Frame& frame, Range x, Range y, const AxesText& text, double x_tick = 0.0,
               bool x_numbers = true);

struct LegendEntry {
  std::string label;
  Rgb colour;
  bool line = false;
  bool dashed = false;
  std::string marker;  // glyph, "" = none
  bool box = false;    // a filled square (bars)
};
// Page-width fraction a legend of these entries needs (0 when none has a label).
double legend_width(plstream& pls, const std::vector<LegendEntry>& entries);
// Draws the entries that have a label top-down from y_top, starting at x0 (normalised page
// coordinates; legend_width says how much room they take).
void draw_legend(plstream& pls, const std::vector<LegendEntry>& entries, double x0, double y_top);

// Average glyph width of the sans font relative to PLplot's character height (measured on
// DejaVu Sans lower case, the cairo and svg drivers' default font).
inline constexpr double kGlyphAspect = 0.7;
// Display width of text in characters (UTF-8 continuation bytes take none); the longest of names.
size_t text_length(const std::string& text);
size_t longest_text(const std::vector<std::string>& names);
// Character scale (<= max_scale, >= 0.5) at which the longest name fits a slot `slot_width` of
// the page width wide (category names under bars, column names under a heat map, titles).
double fitting_text_scale(plstream& pls, const std::vector<std::string>& names, double slot_width,
                          double max_scale = 1.0);

// Character height in mm and the page size in mm (for spacing text in normalised coordinates).
double char_height_mm(plstream& pls);
double page_width_mm(plstream& pls);
double page_height_mm(plstream& pls);

// Value formatted with `decimals` decimals.
std::string format_value(double v, int decimals);

}  // namespace merc::analysis::plot_frame
