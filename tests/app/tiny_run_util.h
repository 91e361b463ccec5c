#pragma once
// The fixture of the tests that read finished runs: a fresh temporary directory holding the
// synthetic dataset (tests/train/synthetic_data.h) and a tiny classification run trained on it
// in-process (mlp, 2 epochs, split "given": 16 train, 4 valid, 4 test dialogues). Another dataset
// may be given (e.g. the synthetic one with extra split schemes).

#include <unistd.h>

#include <filesystem>
#include <string>

#include "cli_test_util.h"
#include "merc/data/dataset_file.h"
#include "../train/synthetic_data.h"

namespace merc::app::testing {

struct TinyDataDir {
  std::filesystem::path dir;  // <tmp>/<stem>_<pid>, emptied
  std::string data;           // <dir>/synthetic.safetensors
};

inline TinyDataDir make_tiny_data_dir(const std::string& stem,
                                      const data::Dataset& dataset = train::testing::synthetic_dataset()) {
  TinyDataDir d;
  d.dir = std::filesystem::temp_directory_path() / (stem + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d.dir);
  std::filesystem::create_directories(d.dir);
  d.data = (d.dir / "synthetic.safetensors").string();
  data::write_dataset_file(dataset, d.data);
  return d;
}

inline CliResult train_tiny_run(const std::string& data, const std::string& out) {
  return cli({"train", "--data", data, "--split", "given", "--set", "model.name=mlp", "--set", "train.epochs=2",
              "--set", "train.progress=none", "--threads", "1", "--out", out});
}

}  // namespace merc::app::testing
