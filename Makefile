# merc entry points. `make demo` and `make test` do all set-up on a fresh Debian 12 machine.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: deps configure build demo test test-all bench fuzz clean

deps:
	bash scripts/install_deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DMERC_BUILD_TESTS=ON $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The main job on the embedded default dataset: train bc_lstm on CMU-MOSI, evaluate it complete
# and at missing rates 0.1-0.7 (scripts/demo.sh).
demo: build
	bash scripts/demo.sh $(BUILD_DIR)

# The default test suite (everything but tests labelled `slow`, tests/support/test_labels.h).
# Skipped tests (a missing ../shared/data or python3-numpy) are listed at the end; on CI (CI=true) a
# missing prerequisite fails instead (tests/support/test_labels.h).
test: build
	(cd $(BUILD_DIR) && OMP_NUM_THREADS=1 ctest --output-on-failure -LE slow -j $(JOBS)); rc=$$?; \
	  bash scripts/test_summary.sh $(BUILD_DIR); exit $$rc

# test-all also runs the browser test of `merc report`, which needs chromium.
test-all: build
	bash scripts/install_deps.sh chromium
	(cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)); rc=$$?; bash scripts/test_summary.sh $(BUILD_DIR); exit $$rc

bench: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DMERC_BUILD_BENCHMARKS=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j $(JOBS)

clean:
	rm -rf $(BUILD_DIR)
