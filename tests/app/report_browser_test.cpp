// The report of a tiny run opened in headless Chromium (Debian's chromium package, installed by
// `make test-all` through `scripts/install_deps.sh chromium`): it renders, the DOM Chromium builds has the
// report's title and tables, and the browser logs no console message (a report has no script, so
// any console line is an error: a failed resource, a CSP or parse problem). Labelled slow: it
// needs a 370 MB browser that the default `make test` does not install. The same check on a page
// with a script error must fail, so the test can fail.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "cli_test_util.h"
#include "merc/data/dataset_file.h"
#include "merc/io/binary_file.h"
#include "test_labels.h"
#include "../train/synthetic_data.h"

namespace merc::app {
namespace report_browser_test_detail {

namespace fs = std::filesystem;

std::string find_chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    std::istringstream path(std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin");
    for (std::string dir; std::getline(path, dir, ':');)
      if (!dir.empty() && ::access((fs::path(dir) / name).c_str(), X_OK) == 0) return (fs::path(dir) / name).string();
  }
  return "";
}

struct Rendered {
  int status = -1;
  std::string dom;                    // --dump-dom: the DOM after loading
  std::vector<std::string> console;   // lines the page's console produced
};

// Chromium logs every console message of the page (console.error, uncaught exceptions, failed
// loads reported to the console) to stderr as "...:INFO:CONSOLE:<line>] "text", source: ...".
Rendered render(const std::string& chromium, const fs::path& html, const fs::path& work) {
  const fs::path dom = work / "dom.html", log = work / "stderr.txt";
  // 120 s: a cold start of the browser on a loaded 2-core machine takes a few seconds; never hang.
  const std::string cmd = fmt::format(
      "timeout 120 '{}' --headless=new --disable-gpu --no-sandbox --enable-logging=stderr --v=0 "
      "--user-data-dir='{}' --dump-dom 'file://{}' > '{}' 2> '{}'",
      chromium, (work / "profile").string(), fs::absolute(html).string(), dom.string(), log.string());
  Rendered r;
  r.status = std::system(cmd.c_str());
  r.dom = io::read_file_bytes(dom.string());
  std::istringstream lines(io::read_file_bytes(log.string()));
  for (std::string line; std::getline(lines, line);)
    if (line.find(":CONSOLE") != std::string::npos || line.find("Uncaught") != std::string::npos)
      r.console.push_back(line);
  return r;
}

}  // namespace report_browser_test_detail

namespace {

using namespace report_browser_test_detail;

MERC_SLOW_TEST(ReportBrowser, RendersInHeadlessChromiumWithoutConsoleErrors) {
  const std::string chromium = find_chromium();
  MERC_REQUIRE_PREREQUISITE(!chromium.empty(), "chromium not installed (scripts/install_deps.sh chromium)");
  const fs::path dir = fs::temp_directory_path() / ("merc_report_browser_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string data = (dir / "synthetic.safetensors").string();
  data::write_dataset_file(train::testing::synthetic_dataset(), data);
  const std::string run = (dir / "run").string();
  testing::CliResult r = testing::cli({"train", "--data", data, "--split", "given", "--set", "model.name=mlp", "--set",
                                       "train.epochs=2", "--set", "train.progress=none", "--set", "selection=test-max",
                                       "--threads", "1", "--out", run});
  ASSERT_EQ(r.code, 0) << r.err;
  r = testing::cli({"report", run});
  ASSERT_EQ(r.code, 0) << r.err;

  const Rendered page = render(chromium, fs::path(run) / "report.html", dir);
  EXPECT_EQ(page.status, 0);
  EXPECT_TRUE(page.console.empty()) << page.console.front();
  EXPECT_NE(page.dom.find("<h1>merc report: run "), std::string::npos) << page.dom.substr(0, 500);
  EXPECT_NE(page.dom.find("<table class=\"card\">"), std::string::npos);
  EXPECT_NE(page.dom.find("Metrics of the selected epoch"), std::string::npos);
  EXPECT_NE(page.dom.find("Test-max selection:"), std::string::npos);
  EXPECT_NE(page.dom.find("precision"), std::string::npos);  // the classification report

  // The check itself: a page with a script error is caught.
  const fs::path bad = dir / "bad.html";
  io::write_file_atomically(bad.string(), "<!DOCTYPE html><html><body><script>throw new Error('boom');</script></body></html>");
  const Rendered broken = render(chromium, bad, dir);
  ASSERT_EQ(broken.console.size(), 1u);
  EXPECT_NE(broken.console[0].find("Uncaught Error: boom"), std::string::npos) << broken.console[0];
  fs::remove_all(dir);
}

}  // namespace
}  // namespace merc::app
