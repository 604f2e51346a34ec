# The two commands the README gives:
#   make run    the main job: install dependencies, build, and run the examples
#   make test   install dependencies, build, run every test, then again under ASan+UBSan,
#               then each libFuzzer target for FUZZ_SECONDS (clang), then the valgrind subset
# Everything else here is a helper for those two.

BUILD      ?= build
BUILD_SAN  ?= build-san
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=
# Warnings are errors in CI (CI=true, as CI services set it), not on a user's
# machine, where a newer compiler's new warning must not stop the build.
ifneq ($(filter true 1 yes,$(CI)),)
SKY_WERROR ?= ON
else
SKY_WERROR ?= OFF
endif
# No test matched (a label renamed, an area not added) is an error, not a pass.
CTEST      = ctest --output-on-failure --no-tests=error -j $(JOBS)

.PHONY: run test deps build build-san build-fuzz test-plain test-san test-fuzz test-valgrind bench-reload bench-studio clean format \
	deb test-arm64

run: deps build
	./scripts/main-job.sh $(BUILD)

test: deps test-plain test-san test-fuzz test-valgrind

deps:
	./scripts/install-deps.sh

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSKY_WERROR=$(SKY_WERROR) $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

build-san:
	cmake -S . -B $(BUILD_SAN) -DCMAKE_BUILD_TYPE=Debug -DSKY_SANITIZE=ON -DSKY_BUILD_BENCH=OFF -DSKY_WERROR=$(SKY_WERROR) $(CMAKE_ARGS)
	cmake --build $(BUILD_SAN) -j $(JOBS)

test-plain: build
	cd $(BUILD) && $(CTEST) -LE valgrind

test-san: build-san
	cd $(BUILD_SAN) && $(CTEST) -LE nosan

# libFuzzer needs clang: a third tree with -fsanitize=fuzzer,address,undefined
# that builds only the fuzz targets (tests/fuzz), each run for FUZZ_SECONDS
# on a copy of its seed corpus; a crash, leak or timeout fails.
build-fuzz:
	cmake -S . -B $(BUILD_FUZZ) -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSKY_FUZZ=ON -DSKY_BUILD_BENCH=OFF \
		-DSKY_FUZZ_SECONDS=$(FUZZ_SECONDS) -DSKY_WERROR=$(SKY_WERROR) $(CMAKE_ARGS)
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target fuzz_all

test-fuzz: build-fuzz
	cd $(BUILD_FUZZ) && $(CTEST) -L fuzz-run
	@cat $(BUILD_FUZZ)/tests/fuzz/work/*/summary

# Memcheck on a representative subset (ctest label "valgrind", plain tree only).
test-valgrind: build
	cd $(BUILD) && $(CTEST) -L valgrind

# Hot reload on this machine's device: save -> first new frame and late frames over 20 edits
# (bench/bench_reload.c; the figures in docs/performance.md, "Reload", come from it).
bench-reload: build
	cmake --build $(BUILD) -j $(JOBS) --target bench-reload

# Studio viewers beside the show: late frames with 0 and 5 clients on /api/frames at 60 fps
# (bench/bench_studio.c; the figures in docs/performance.md, "Studio", come from it).
bench-studio: build
	cmake --build $(BUILD) -j $(JOBS) --target bench-studio

# Debian packages into dist/ (cmake/package.cmake: sky, sky-driver, libsky,
# skyscreen-common): `make deb` for this machine, `make deb ARCH=arm64` cross-built
# against an unpacked arm64 sysroot (scripts/arm64-sysroot.sh), its Depends
# from that sysroot's shlibs (scripts/deb-arm64-depends.sh).
HOST_ARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
ARCH      ?= $(HOST_ARCH)
BUILD_DEB ?= build-deb-$(ARCH)
ARM64_SYSROOT ?= build-arm64-sysroot
DEB_CMAKE_ARGS = -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DSKY_BUILD_TESTS=OFF -DSKY_BUILD_BENCH=OFF -DSKY_WERROR=$(SKY_WERROR) $(CMAKE_ARGS)

deb: deps
ifeq ($(ARCH),$(HOST_ARCH))
	cmake -S . -B $(BUILD_DEB) $(DEB_CMAKE_ARGS)
	cmake --build $(BUILD_DEB) -j $(JOBS)
else ifeq ($(ARCH),arm64)
	./scripts/install-deps.sh --arm64
	./scripts/arm64-sysroot.sh $(ARM64_SYSROOT)
	cmake -S . -B $(BUILD_DEB) $(DEB_CMAKE_ARGS) -DSKY_DEB_DEPENDS_FILE= \
		-DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/toolchain-aarch64-linux-gnu.cmake \
		-DSKY_ARM64_SYSROOT=$(abspath $(ARM64_SYSROOT))/root
	cmake --build $(BUILD_DEB) -j $(JOBS)
	./scripts/deb-arm64-depends.sh $(ARM64_SYSROOT) $(BUILD_DEB) > $(BUILD_DEB)/depends.txt
	cmake $(BUILD_DEB) -DSKY_DEB_DEPENDS_FILE=$(abspath $(BUILD_DEB))/depends.txt
else
	$(error make deb: ARCH=$(ARCH): only this machine's architecture ($(HOST_ARCH)) and arm64 are supported)
endif
	rm -rf $(BUILD_DEB)/cpack
	cd $(BUILD_DEB) && cpack -B $(abspath $(BUILD_DEB))/cpack
	mkdir -p dist
	cp $(BUILD_DEB)/cpack/*.deb dist/
	@ls -l dist/*_$(ARCH).deb dist/*_all.deb

# arm64: cross-build with Debian's aarch64-linux-gnu toolchain and run the
# non-GPU suites under qemu-aarch64 (scripts/test-arm64.sh; docs/arm64.md).
test-arm64:
	./scripts/install-deps.sh --arm64
	./scripts/test-arm64.sh

clean:
	rm -rf $(BUILD) $(BUILD_SAN) $(BUILD_FUZZ) build-deb-* build-arm64 dist

format:
	clang-format -i $$(git ls-files '*.c' '*.h')
