# colo - the two commands of the README, and what they are made of.
#
#   make test    install missing Debian packages, build with -Werror, run every
#                test; then an ASan+UBSan build running every test, a TSan
#                build running the ring, conformance and OS-contract tests, the
#                stub OS layer's build (make test-stub), and the Windows build
#                with its tests under Wine (make test-win)
#   make bench   install what the benchmark needs, build, run `colo bench`:
#                the table and how much shared memory saves over TCP; also
#                writes build/bench.json and build/bench.svg (BENCH_ARGS adds
#                options, such as BENCH_ARGS="--size 64,1K,64K")
#   make bench-containers  the same between two real containers (podman
#                with runc, as root), in every arrangement of docs/containers.md,
#                next to host processes, three rounds of every row taken in
#                turn; build/bench-containers.json and .svg
#   make build   the release build only (build/release: libcolo, colo)
#   make test-win  the Windows build (mingw-w64, -Werror: colo.dll, colo.exe,
#                the tests), its tests run under Wine (scripts/wine-ctest.sh)
#   make test-stub  libcolo built with the stub OS layer (shims/stub: every entry
#                "not implemented"): it compiles, and tests/test_os skips every case
#   make test-fuzz  libFuzzer on the stream protocol and the colo:// handshake
#                   (clang), FUZZ_SECONDS=60 each
#   make install PREFIX=/usr/local
#
# Every target installs what it needs first (scripts/deps.sh: as root, with
# sudo, or it prints the apt-get line and stops).

BUILD     ?= build
PREFIX    ?= /usr/local
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_GEN := -DCOLO_WERROR=ON

DEPS_BUILD := cmake make gcc libc6-dev pkg-config libmimalloc-dev libxxhash-dev
DEPS_BENCH := $(DEPS_BUILD) gnuplot-nox iproute2
DEPS_CTR   := $(DEPS_BENCH) podman runc
DEPS_TEST  := $(DEPS_CTR) libcriterion-dev procps util-linux coreutils jq
DEPS_WIN   := cmake make libxxhash-dev gcc-mingw-w64-x86-64 wine wine64

ASAN_UBSAN := address,undefined
CTEST := ctest --output-on-failure --no-tests=error -V

FUZZ_SECONDS ?= 60

.PHONY: all build bench bench-containers test test-release test-asan test-tsan test-stub test-win test-fuzz deps deps-test install clean

all: build

deps:
	@scripts/deps.sh $(DEPS_BUILD)

deps-test:
	@scripts/deps.sh $(DEPS_TEST)

# $(call configure,DIR,EXTRA CMAKE ARGS)
define configure
	cmake -S . -B $(BUILD)/$(1) $(CMAKE_GEN) $(2) >/dev/null
	cmake --build $(BUILD)/$(1) -j $(JOBS)
endef

build: deps
	$(call configure,release,-DCOLO_BUILD_TESTS=OFF)

BENCH_ARGS ?=
bench:
	@scripts/deps.sh $(DEPS_BENCH)
	$(call configure,release,-DCOLO_BUILD_TESTS=OFF)
	$(BUILD)/release/colo bench --json $(BUILD)/bench.json --plot $(BUILD)/bench.svg $(BENCH_ARGS)

bench-containers:
	@scripts/deps.sh $(DEPS_CTR)
	$(call configure,release,-DCOLO_BUILD_TESTS=OFF)
	$(BUILD)/release/colo bench --containers podman --rounds 3 --json $(BUILD)/bench-containers.json \
	  --plot $(BUILD)/bench-containers.svg $(BENCH_ARGS)

test: deps-test
	@$(MAKE) --no-print-directory test-release test-asan test-tsan test-stub test-win
	@echo "make test: release, ASan+UBSan and TSan test runs all passed; the stub build compiled and skipped every case; the Windows build's tests passed under Wine"

test-release:
	@echo "== release build (-Werror), every test" >&2
	$(call configure,test-release,-DCOLO_BUILD_TESTS=ON)
	cd $(BUILD)/test-release && $(CTEST)

test-asan:
	@echo "== ASan+UBSan build, every test" >&2
	$(call configure,asan,-DCOLO_BUILD_TESTS=ON -DCOLO_SANITIZE=$(ASAN_UBSAN))
	cd $(BUILD)/asan && ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 \
	  UBSAN_OPTIONS=print_stacktrace=1 $(CTEST)

test-tsan:
	@echo "== TSan build, ring, conformance and OS-contract tests" >&2
	$(call configure,tsan,-DCOLO_BUILD_TESTS=ON -DCOLO_SANITIZE=thread)
	cd $(BUILD)/tsan && TSAN_OPTIONS=halt_on_error=1 $(CTEST)

# The OS contract is complete: libcolo links with the stub shim alone, and
# test_os, which asks the shim before each case, skips all of them. A case
# that passed there would test nothing; Criterion's synthesis must say
# Tested: 0 (a skip is not tested) with one [SKIP] line per listed case.
test-stub:
	@echo "== stub OS layer: libcolo and test_os, every case skipped" >&2
	$(call configure,stub,-DCOLO_BUILD_TESTS=ON -DCOLO_SHIM=stub -DCOLO_BUILD_CLI=OFF)
	cd $(BUILD)/stub && $(CTEST) > ctest.log 2>&1; rc=$$?; cat ctest.log; \
	  cases=$$(tests/test_os --list | grep -c -- '── '); \
	  skipped=$$(grep -c '\[SKIP\] ' ctest.log); \
	  if [ $$rc -ne 0 ] || [ "$$cases" -eq 0 ] || [ "$$skipped" -ne "$$cases" ] || \
	     ! grep -q 'Synthesis: Tested: 0 | Passing: 0 | Failing: 0 | Crashing: 0' ctest.log; then \
	    echo "make test-stub: FAILED: ctest exit $$rc, $$skipped of $$cases test_os cases skipped (every one must be, none passed)" >&2; \
	    exit 1; \
	  fi; \
	  echo "make test-stub: the stub build of libcolo compiled; test_os skipped all $$cases cases, none passed"

# Windows: cross-built with mingw-w64 (cmake/mingw-w64-x86_64.cmake), -Werror,
# and every test run under Wine in the tree's own prefix.
test-win:
	@echo "== Windows build (mingw-w64, -Werror), its tests under Wine" >&2
	@scripts/deps.sh $(DEPS_WIN)
	$(call configure,win,-DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/mingw-w64-x86_64.cmake -DCOLO_BUILD_TESTS=ON)
	scripts/wine-ctest.sh $(BUILD)/win --output-on-failure --no-tests=error -V

# libFuzzer on the stream protocol for FUZZ_SECONDS, starting from the saved
# corpus; new inputs go to $(BUILD)/fuzz/corpus and corpus-rdv (copy the useful
# ones to tests/fuzz/corpus and corpus-rdv, which every `make test` replays).
FUZZ_SAN := address,undefined,fuzzer-no-link
test-fuzz: deps-test
	@scripts/deps.sh clang
	cmake -S . -B $(BUILD)/fuzz -DCMAKE_C_COMPILER=clang -DCOLO_WERROR=OFF -DCOLO_FUZZ=ON \
	  -DCOLO_SANITIZE=$(FUZZ_SAN) -DCOLO_BUILD_TESTS=ON >/dev/null
	cmake --build $(BUILD)/fuzz -j $(JOBS) --target fuzz_stream fuzz_rdv
	mkdir -p $(BUILD)/fuzz/corpus $(BUILD)/fuzz/corpus-rdv
	$(BUILD)/fuzz/tests/fuzz_stream -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	  $(BUILD)/fuzz/corpus tests/fuzz/corpus
	$(BUILD)/fuzz/tests/fuzz_rdv -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	  $(BUILD)/fuzz/corpus-rdv tests/fuzz/corpus-rdv

install: build
	cmake --install $(BUILD)/release --prefix $(PREFIX)

clean:
	rm -rf $(BUILD)
