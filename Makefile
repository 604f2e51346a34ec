# The two commands the README gives:
#   make run    the main job: install dependencies, build, and run the examples
#   make test   install dependencies, build, run every test, then again under ASan+UBSan
# Everything else here is a helper for those two.

BUILD      ?= build
BUILD_SAN  ?= build-san
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: run test deps build build-san test-plain test-san clean format

run: deps build
	./scripts/main-job.sh $(BUILD)

test: deps test-plain test-san

deps:
	./scripts/install-deps.sh

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

build-san:
	cmake -S . -B $(BUILD_SAN) -DCMAKE_BUILD_TYPE=Debug -DSKY_SANITIZE=ON -DSKY_BUILD_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(BUILD_SAN) -j $(JOBS)

test-plain: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-san: build-san
	cd $(BUILD_SAN) && ctest --output-on-failure -j $(JOBS) -LE nosan

clean:
	rm -rf $(BUILD) $(BUILD_SAN)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')
