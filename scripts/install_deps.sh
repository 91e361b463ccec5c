#!/usr/bin/env bash
# Installs the Debian 12 packages merc needs to build, test and run. Idempotent: installs only
# what is missing, so `make demo` / `make test` cost nothing extra on a prepared machine.
set -euo pipefail

PACKAGES=(
  cmake make g++ ninja-build ccache pkg-config
  libtorch-dev          # LibTorch 1.13 (CPU)
  libopenblas0-openmp   # optimized BLAS; apt does not pull one and torch is ~8x slower without
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libplplot-dev plplot-driver-cairo  # figures (merc/analysis/plot): SVG, PNG and PDF through cairo
  libsentencepiece-dev  # T5 tokenizer (merc/nn/t5/tokenizer): reads and trains spiece.model
  python3 python3-numpy # regenerates test fixtures and Python-interop docs checks
)
# Extra packages named on the command line, e.g. `install_deps.sh chromium` (make test-all: the
# browser test of `merc report`, ~115 MB, so not installed for the default build and test).
PACKAGES+=("$@")

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "merc: installing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
