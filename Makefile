# Two commands on a fresh Debian 12 machine: `make run` and `make test`.
# Everything else here is a convenience over CMake presets.

BUILD     ?= build
JOBS      ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all deps configure build run test bench bench-micro asan fuzz clean

all: build

deps:
	@.ci/install-deps

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# Runs the engine on its embedded default: an in-process Kafka cluster, the bundled sample
# and rules, and a RocksDB store under ./var/tuttle; the example approved inventory flags the
# sample's shadow images, workloads and functions (docs/inventory.md).
run: build
	@$(BUILD)/tuttle run --approved-inventory deploy/approved-inventory.example.yaml

test: build
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) --timeout 600

# The end-to-end bench beside the simdjson ceiling, rg, SEC and syslog-ng (docs/bench.md):
# rewrites docs/PERFORMANCE.md and docs/performance.png.
bench: build
	@BUILD=$(BUILD) bench/run

# Only the Google Benchmark micro benches, per stage.
bench-micro: build
	@$(BUILD)/bench/tuttle_bench --benchmark_counters_tabular=true

# Debug build with AddressSanitizer and UndefinedBehaviorSanitizer, then the suite.
asan: deps
	@cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTUTTLE_SANITIZE=address,undefined >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@ctest --test-dir build-asan --output-on-failure -j $(JOBS) --timeout 900

clean:
	@rm -rf $(BUILD) build-asan build-fuzz

# Coverage-guided fuzzing with clang's libFuzzer (+ASan/UBSan): each target for FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
fuzz: deps
	@.ci/install-deps .ci/debian-packages-fuzz.txt
	@CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DTUTTLE_FUZZ=ON -DTUTTLE_SANITIZE=address,undefined -DTUTTLE_BUILD_BENCH=OFF >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target json_record_fuzz sigma_rule_fuzz signal_message_fuzz inventory_fuzz
	@for t in json_record sigma_rule signal_message inventory; do \
	  mkdir -p build-fuzz/corpus/$$t && \
	  build-fuzz/tests/fuzz/$${t}_fuzz build-fuzz/corpus/$$t tests/fuzz/corpus/$$t \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -artifact_prefix=build-fuzz/ || exit 1; \
	done
