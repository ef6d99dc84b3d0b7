# The two commands of the README. Each installs what it needs, configures with the CMake
# preset (Ninja + ccache), builds, and runs; running them again only rebuilds what changed.
PRESET ?= default
BUILD  := build/$(PRESET)
EVENTS ?= 10000

# ccache keys on paths relative to the checkout, so a fresh clone elsewhere (CI) reuses
# what another checkout compiled instead of rebuilding everything; the build directory
# (in the hash of -g objects by default) is left out of the key for the same reason.
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= true

.PHONY: demo test build deps configure format clean

demo: build
	$(BUILD)/bin/phoenix demo --events $(EVENTS)

test: build
	ctest --preset $(PRESET)

build: configure
	cmake --build --preset $(PRESET)

configure: deps
	@if [ ! -f $(BUILD)/build.ninja ]; then cmake --preset $(PRESET); fi

deps:
	./deploy/install-deps.sh

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format-14 -i

clean:
	rm -rf build
