# dip: the two commands a newcomer needs are `make demo` and `make check` (README).
# Everything builds with CMake into build/ (release + debug info) and build-asan/
# (AddressSanitizer + UBSan). Targets install what is missing first.

JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
CTEST_TIMEOUT ?= 1500
FUZZ_SECONDS ?= 600

.PHONY: all build deps install man soak-sync-es-load soak-sync-es soak-sync-pg-shards check test test-asan asan demo clean format format-check banned fnlen \
        bench-parquet bench-memory bench-delta bench-sync-pg bench-sync-pg-shards bench-sync-es bench-sync-es-cdc bench-es fuzz fuzz-parquet fuzz-delta fuzz-sync-pg fuzz-build

all: build

$(BUILD)/Makefile:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/Makefile
	cmake --build $(BUILD) -j$(JOBS)

deps:
	./scripts/install-deps.sh

# make install [PREFIX=/usr/local] [DESTDIR=/tmp/stage]: bin/dip, man1/dip.1, share/dip/
PREFIX ?= /usr/local
install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

# man/dip.1 is made from the --help texts (dip help --man); cli.ux fails when it is stale
man: build
	$(BUILD)/dip help --man > man/dip.1

# make check: install, build, banned-call check, the whole suite, then the whole suite
# again under AddressSanitizer + UBSan.
check: deps banned fnlen format-check cppcheck deps-graph
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDIP_WERROR=ON
	cmake --build $(BUILD) -j$(JOBS)
	cd $(BUILD) && ctest -j2 --output-on-failure --timeout $(CTEST_TIMEOUT)
	$(MAKE) test-asan

test: build
	cd $(BUILD) && ctest -j2 --output-on-failure --timeout $(CTEST_TIMEOUT)

asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DDIP_SANITIZE=ON -DDIP_WERROR=ON
	cmake --build $(ASAN_BUILD) -j$(JOBS)

# Tests labelled "slow" (crash trials, big fixtures) run in the plain build only.
test-asan: asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest -j2 --output-on-failure --timeout $(CTEST_TIMEOUT) -LE slow

demo: deps build
	./scripts/demo.sh

fnlen:
	./scripts/check-fnlen.py

banned:
	./scripts/check-banned.sh

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h' 'fuzz/*.c' 'bench/*.c')

# clang-format pinned to major 14 (scripts/check-format.sh says so when it is not)
format-check:
	./scripts/check-format.sh

# cppcheck over src/, findings fail; reviewed false positives: scripts/cppcheck-suppressions.txt
.PHONY: cppcheck
cppcheck:
	./scripts/check-cppcheck.sh

# the module include graph; fails on an arrow against DESIGN.md or an include cycle
.PHONY: deps-graph
deps-graph:
	/usr/bin/python3 ./scripts/deps-graph.py

bench-parquet: deps build
	./bench/bench_parquet.sh

bench-memory: deps build
	./bench/bench_memory.sh

bench-delta: deps build
	./bench/bench_delta.sh

bench-sync-pg: deps build
	./bench/bench_sync_pg.sh

bench-sync-pg-shards: deps build
	./bench/bench_sync_pg_shards.sh

bench-sync-es: deps build
	./bench/bench_sync_es.sh

# the initial load's SIGKILL trials at the issue's full counts (make check runs fewer)
soak-sync-es-load: deps build
	python3 tests/sync_es/test_crash.py $(BUILD)/dip $(CURDIR) 20 200000
	python3 tests/sync_es/test_crash.py $(BUILD)/dip $(CURDIR) 20 20000 writes

# the change stream's SIGKILL trials at the issue's count (make check runs 8)
soak-sync-es: deps build
	DIP_CRASH_TRIALS=$${DIP_CRASH_TRIALS:-100} python3 tests/sync_es_stream/test_kill.py $(BUILD)/dip $(CURDIR)

# sharded sync-pg with SIGKILLed shards, at the issue's 30 rounds (make check runs 4)
soak-sync-pg-shards: deps build
	tests/sync_pg/test_shards.sh $(BUILD)/dip $(CURDIR) 30

bench-sync-es-cdc: deps build
	./bench/bench_sync_es_cdc.sh
	BENCH_CDC_BATCH=10 BENCH_CDC_STEP=$${BENCH_CDC_BATCH_STEP:-30} \
	  BENCH_CDC_RATES="$${BENCH_CDC_BATCH_RATES:-9600 20400 24000 28800}" ./bench/bench_sync_es_cdc.sh

# dip es load vs python parallel_bulk (4 threads), BENCH_DOCS one-KB documents (1,000,000)
bench-es: deps build
	./bench/bench_es.sh

fuzz-build:
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDIP_FUZZ=ON -DDIP_WERROR=OFF
	cmake --build $(FUZZ_BUILD) -j$(JOBS)

# FUZZ_SECONDS (default 600) per target; seed corpora are committed under fuzz/corpus/.
fuzz-parquet: deps fuzz-build
	./scripts/run-fuzzer.sh parquet $(FUZZ_SECONDS)

fuzz-delta: deps fuzz-build
	./scripts/run-fuzzer.sh delta $(FUZZ_SECONDS)

fuzz-sync-pg: deps fuzz-build
	./scripts/run-fuzzer.sh sync_pg $(FUZZ_SECONDS)

fuzz: fuzz-parquet fuzz-delta fuzz-sync-pg

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

# pgoutput decoder and replication CopyData parser (fuzz/fuzz_pgoutput.c)
.PHONY: fuzz-pgoutput
fuzz-pgoutput: deps fuzz-build
	./scripts/run-fuzzer.sh pgoutput $(FUZZ_SECONDS)

# schema.json parser, transforms and mapping (fuzz/fuzz_docs_schema.c)
.PHONY: fuzz-docs-schema
fuzz-docs-schema: deps fuzz-build
	./scripts/run-fuzzer.sh docs_schema $(FUZZ_SECONDS)
