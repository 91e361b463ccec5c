#include "merc/analysis/plot.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>
#include <plstream.h>

#include "merc/analysis/plot_frame.h"
#include "merc/core/error.h"
#include "merc/io/binary_file.h"

namespace merc::analysis {

namespace plot_detail {

namespace fs = std::filesystem;

// PLplot is one library-wide state machine (current stream, option parser): one render at a time.
std::mutex& plplot_mutex() {
  static std::mutex m;
  return m;
}

// A failing plinit (unknown device) calls exit(): check the device is compiled in first.
void require_device(const char* device) {
  constexpr int kMaxDevices = 128;
  const char* menus[kMaxDevices];
  const char* names[kMaxDevices];
  const char** menu_ptr = menus;
  const char** name_ptr = names;
  int n = kMaxDevices;
  plgDevs(&menu_ptr, &name_ptr, &n);
  for (int i = 0; i < n; ++i)
    if (std::string(names[i]) == device) return;
  throw Error(fmt::format("PLplot has no '{}' output device (install plplot-driver-cairo; scripts/install_deps.sh)",
                          device));
}

std::string temp_path(const char* ext) {
  static std::atomic<uint64_t> counter{0};
  return (fs::temp_directory_path() / fmt::format("merc_plot_{}_{}.{}", ::getpid(), counter++, ext)).string();
}

void render_to_file(const std::function<void(plstream&)>& draw, PlotSize size, const char* device,
                    const std::string& path) {
  MERC_CHECK(draw, "render of an empty Plot (build it with line_chart, bar_chart, heat_map or scatter_plot)");
  std::lock_guard<std::mutex> lock(plplot_mutex());
  require_device(device);
  {
    plstream pls;  // a fresh stream per figure: no state leaks between figures
    pls.sdev(device);
    pls.sfnam(path.c_str());
    pls.setopt("geometry", fmt::format("{}x{}", size.width, size.height).c_str());
    pls.scolbg(255, 255, 255);
    pls.init();
    pls.adv(0);
    draw(pls);
  }  // ~plstream ends the stream and closes the file
  MERC_CHECK(fs::exists(path) && fs::file_size(path) > 0, "PLplot ({}) wrote nothing to {}", device, path);
}

std::string render_to_bytes(const std::function<void(plstream&)>& draw, PlotSize size, const char* device,
                            const char* ext) {
  const std::string path = temp_path(ext);
  struct Remove {
    std::string p;
    ~Remove() {
      std::error_code ec;
      fs::remove(p, ec);
    }
  } remove{path};
  render_to_file(draw, size, device, path);
  return io::read_file_bytes(path);
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// PLplot's svg driver writes every character as "&#xHH;" and starts with an XML prolog and a
// DOCTYPE. Keep the <svg> element only (valid standalone and inline in HTML5), with text as plain
// UTF-8 (searchable, a third of the size) and a pixel size equal to the PNG's.
std::string clean_svg(const std::string& raw, PlotSize size) {
  const size_t start = raw.find("<svg");
  MERC_CHECK(start != std::string::npos, "PLplot's svg output has no <svg> element");
  std::string out;
  out.reserve(raw.size());
  for (size_t i = start; i < raw.size();) {
    if (raw.compare(i, 3, "&#x") == 0) {
      const size_t end = raw.find(';', i);
      if (end != std::string::npos && end - i <= 10) {
        const uint32_t cp = static_cast<uint32_t>(std::stoul(raw.substr(i + 3, end - i - 3), nullptr, 16));
        if (cp == '&') out += "&amp;";
        else if (cp == '<') out += "&lt;";
        else if (cp == '>') out += "&gt;";
        else append_utf8(out, cp);
        i = end + 1;
        continue;
      }
    }
    out += raw[i++];
  }
  const std::string w = fmt::format("width=\"{}pt\"", size.width), h = fmt::format("height=\"{}pt\"", size.height);
  const size_t header_end = out.find('>');
  for (const auto& [from, to] : {std::pair{w, fmt::format("width=\"{}\"", size.width)},
                                 std::pair{h, fmt::format("height=\"{}\"", size.height)}}) {
    const size_t at = out.find(from);
    if (at != std::string::npos && at < header_end) out.replace(at, from.size(), to);
  }
  return out;
}

}  // namespace plot_detail

Rgb series_colour(size_t i) { return plot_frame::kPalette[i % plot_frame::kPalette.size()]; }

std::string plot_text(const std::string& text) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '#') out += '#';
  }
  return out;
}

std::string Plot::svg() const {
  return plot_detail::clean_svg(plot_detail::render_to_bytes(draw_, size_, "svg", "svg"), size_);
}

std::string Plot::png() const { return plot_detail::render_to_bytes(draw_, size_, "pngcairo", "png"); }

void Plot::write_svg(const std::string& path) const { io::write_file_atomically(path, svg()); }

void Plot::write_png(const std::string& path) const { io::write_file_atomically(path, png()); }

void Plot::write_pdf(const std::string& path) const {
  io::write_file_atomically(path, plot_detail::render_to_bytes(draw_, size_, "pdfcairo", "pdf"));
}

}  // namespace merc::analysis
