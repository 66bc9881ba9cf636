# evmjit build. Everything goes into $(BUILD) (default build/).
#   make demo       build the tool if needed and run the tiered runtime on the benchmark
#                   contracts (DEMO_ARGS=... passes options: build/evmjit demo --help)
#   make            the command-line tool, the EVMC module and every test
#   make test       build and run the tests of this build (./test.sh runs all variants)
#   make bench-chart  a PNG bar chart of the speedups (runs the full bench once if
#                   $(BENCH_JSON) is absent; needs gnuplot and python3)
#   make SAN=address,undefined BUILD=build/asan tests   a sanitizer build of the tests
# LLVM: llvm-config-NN (NN >= 17, newest first) or LLVM_CONFIG=...; its flags are used only
# for evmjit_llvm.c and what links it. Without LLVM everything else builds.

.DEFAULT_GOAL := all

CC      ?= cc
BUILD   ?= build
OPT     ?= -O2 -g
SAN     ?=
WARN    := -std=c11 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wpointer-arith -Wvla -Wformat=2
CFLAGS  ?=
SANFLAGS := $(if $(SAN),-fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all,)
ALLCFLAGS = $(WARN) $(OPT) $(SANFLAGS) -D_GNU_SOURCE -I. $(CFLAGS)
LDLIBS_CORE := -lpthread -ldl -lm
# Libraries the tools and tests use (see README: each is a Debian package)
LDLIBS_HOST := -ljansson -lsecp256k1 -lcrypto -lgmp

# ---- LLVM (optional) ----------------------------------------------------------------------
LLVM_CONFIG ?= $(shell for v in 22 21 20 19 18 17; do \
                 command -v llvm-config-$$v >/dev/null 2>&1 && { echo llvm-config-$$v; exit 0; }; done; \
                 if command -v llvm-config >/dev/null 2>&1 && \
                    [ "$$(llvm-config --version | cut -d. -f1)" -ge 17 ] 2>/dev/null; then echo llvm-config; fi)
HAVE_LLVM := $(if $(LLVM_CONFIG),$(if $(wildcard evmjit_llvm.c),1,),)

# ---- sources ------------------------------------------------------------------------------
HEADER      := evmjit_cache.h
HOST_SRCS   := $(filter-out examples/evmjit.c examples/evmc_module.c examples/prewarm.c,$(wildcard examples/*.c))
HOST_HDRS   := $(wildcard examples/*.h)
TEST_SRCS   := $(filter-out tests/compile_only_b.c,$(wildcard tests/test_*.c))
TESTS       := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS)) $(BUILD)/tests/compile_only

# ---- LLVM backend: its flags apply only to evmjit_llvm.c and what links it -----------------
ifeq ($(HAVE_LLVM),1)
LLVM_CFLAGS := $(patsubst -I%,-isystem %,$(filter -I%,$(shell $(LLVM_CONFIG) --cflags)))
LLVM_LDLIBS := $(shell $(LLVM_CONFIG) --ldflags) $(shell $(LLVM_CONFIG) --libs)
LLVM_OBJ    := $(BUILD)/evmjit_llvm.o
LLVM_DEFS   := -DEVMJIT_HAVE_LLVM
# position-independent: it is linked into libevmjit.so as well
$(BUILD)/evmjit_llvm.o: evmjit_llvm.c $(HEADER) | $(BUILD)
	$(CC) $(ALLCFLAGS) -fPIC $(LLVM_CFLAGS) -c -o $@ evmjit_llvm.c
$(BUILD)/tests/test_llvm: tests/test_llvm.c $(wildcard tests/*.h) $(BUILD)/evmjit_llvm.o $(HEADER) | $(BUILD)/tests
	$(CC) $(ALLCFLAGS) -o $@ $< $(BUILD)/evmjit_llvm.o $(LLVM_LDLIBS) $(LDLIBS_CORE)
# The [C] cache behaviours again, with the LLVM backend behind the test backend.
TESTS += $(BUILD)/tests/test_cache_llvm
$(BUILD)/tests/test_cache_llvm: tests/test_cache.c $(wildcard tests/*.h) $(BUILD)/evmjit_llvm.o $(HEADER) | $(BUILD)/tests
	$(CC) $(ALLCFLAGS) -DTEST_CACHE_WITH_LLVM -o $@ $< $(BUILD)/evmjit_llvm.o $(LLVM_LDLIBS) $(LDLIBS_CORE)
# The long differential run (issue 5): interpreter vs JIT on 100,000 random programs.
llvm-random: $(BUILD)/tests/test_llvm
	$(BUILD)/tests/test_llvm random $${N:-100000} $${SEED:-1}
else
TESTS := $(filter-out $(BUILD)/tests/test_llvm,$(TESTS)) # llvm-status says why
llvm-random:
	@echo "llvm-random: needs LLVM (see llvm-status)"
endif

.PHONY: all tests test clean llvm-status llvm-random demo bench-chart
all: $(BUILD)/evmjit $(BUILD)/libevmjit.so tests $(BUILD)/bench_evmc $(BUILD)/prewarm llvm-status
tests: $(TESTS)

llvm-status:
ifeq ($(HAVE_LLVM),1)
	@echo "LLVM: $(LLVM_CONFIG) $$($(LLVM_CONFIG) --version)"
else ifeq ($(LLVM_CONFIG),)
	@echo "LLVM: no llvm-config 17 or newer (install llvm-19-dev or set LLVM_CONFIG); building without the LLVM backend"
else
	@echo "LLVM: $(LLVM_CONFIG) found, but evmjit_llvm.c is absent; building without the LLVM backend"
endif

# bench/bench_cache.c is compiled inside examples/evmjit.c (it measures the implementation's
# internals): `evmjit bench-cache`.
$(BUILD)/evmjit: examples/evmjit.c bench/bench_cache.c $(HOST_SRCS) $(HOST_HDRS) $(HEADER) $(LLVM_OBJ) | $(BUILD)
	$(CC) $(ALLCFLAGS) $(LLVM_DEFS) -o $@ examples/evmjit.c $(HOST_SRCS) $(LLVM_OBJ) $(LDLIBS_HOST) \
	  $(LLVM_LDLIBS) $(LDLIBS_CORE)

# The prewarm example (issue 9): a synthetic block without and with a prewarm session.
$(BUILD)/prewarm: examples/prewarm.c $(HOST_SRCS) $(HOST_HDRS) $(HEADER) $(LLVM_OBJ) | $(BUILD)
	$(CC) $(ALLCFLAGS) $(LLVM_DEFS) -o $@ examples/prewarm.c $(HOST_SRCS) $(LLVM_OBJ) $(LDLIBS_HOST) \
	  $(LLVM_LDLIBS) $(LDLIBS_CORE)

$(BUILD)/tests/compile_only: tests/compile_only.c tests/compile_only_b.c $(HEADER) | $(BUILD)/tests
	$(CC) $(ALLCFLAGS) -o $@ tests/compile_only.c tests/compile_only_b.c $(LDLIBS_CORE)

# Every tests/test_*.c is one program; it may use the example host modules.
$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(HOST_SRCS) $(HOST_HDRS) $(HEADER) | $(BUILD)/tests
	$(CC) $(ALLCFLAGS) -o $@ $< $(HOST_SRCS) $(LDLIBS_HOST) $(LDLIBS_CORE)

$(BUILD)/tests/test_cache $(BUILD)/tests/test_conc_cache $(BUILD)/tests/test_conc_prewarm: tests/cache_testlib.h
$(BUILD)/tests/test_store $(BUILD)/tests/test_conc_store: tests/cache_testlib.h

# Benchmarks: separate from the tests; each prints its figures and a machine-readable last
# line. The others are commands of the tool: evmjit bench, evmjit bench-cache.
$(BUILD)/bench_evmc: bench/bench_evmc.c tests/mock_host.h $(HEADER) $(BUILD)/libevmjit.so | $(BUILD)
	$(CC) $(ALLCFLAGS) -o $@ $< -ldl

# The EVMC module: exports evmc_create_evmjit and nothing else (version script).
$(BUILD)/libevmjit.so: examples/evmc_module.c examples/evmc_module.map $(HEADER) $(LLVM_OBJ) | $(BUILD)
	$(CC) $(ALLCFLAGS) $(LLVM_DEFS) -fPIC -fvisibility=hidden -shared \
	  -Wl,--version-script=examples/evmc_module.map -o $@ examples/evmc_module.c $(LLVM_OBJ) \
	  $(LLVM_LDLIBS) $(LDLIBS_CORE)

# An EVMC host test: dlopen and the EVMC ABI only, so it links none of evmjit.
$(BUILD)/tests/test_evmc: tests/test_evmc.c tests/check.h tests/mock_host.h $(HEADER) $(BUILD)/libevmjit.so | $(BUILD)/tests
	$(CC) $(ALLCFLAGS) -o $@ tests/test_evmc.c -ldl -lpthread

$(BUILD) $(BUILD)/tests:
	mkdir -p $@

test: all
	@set -e; for t in $(TESTS); do echo "== $$t"; $$t; done

# The tiered runtime on the benchmark contracts, as a node runs them: interpreted first,
# compiled in the background when hot, native after; compiled programs go to ./evmjit-store
# and the next run preloads them. Needs only the tool.
DEMO_ARGS ?=
demo: $(BUILD)/evmjit
	./$(BUILD)/evmjit demo $(DEMO_ARGS)

# The speedups of `evmjit bench` as a bar chart. The JSON is made by one full bench run
# (a few minutes) unless it exists: delete it, or set BENCH_JSON, to chart another run.
BENCH_JSON  ?= $(BUILD)/bench.json
BENCH_CHART ?= docs/bench.png
$(BUILD)/bench.json: | $(BUILD)/evmjit
	./$(BUILD)/evmjit bench --json $@.tmp; status=$$?; \
	  if [ -s $@.tmp ]; then mv $@.tmp $@; else exit 1; fi; \
	  [ $$status = 0 ] || echo "bench-chart: some benchmarks failed (see the table); charting the rest"
bench-chart: $(BENCH_JSON) bench/chart.gp bench/chart_data.py
	@mkdir -p $(dir $(BENCH_CHART))
	python3 bench/chart_data.py $(BENCH_JSON) > $(BUILD)/bench-chart.tsv
	gnuplot -e "data='$(BUILD)/bench-chart.tsv'; output='$(BENCH_CHART)'" bench/chart.gp
	@echo "bench-chart: $(BENCH_CHART)"

clean:
	rm -rf build
