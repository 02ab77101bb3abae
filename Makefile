# LiveImager. `make demo` shows the main job on a generated test disk; `make test` runs every test;
# `make bench` (root) compares it with dd | zstd and partclone | zstd (docs/bench.md); `make live` builds the live
# medium (artifacts/liveimager.iso) and `make live-test` boots it in QEMU (docs/live-image.md).
SHELL := /bin/bash
DOTNET ?= dotnet
CONFIG ?= Release
BIN := artifacts/liveimager
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1

.PHONY: build test publish demo bench deps clean screenshots live live-deps live-test

deps:
	@scripts/install-deps.sh

build:
	$(DOTNET) build LiveImager.sln -c $(CONFIG)

publish: $(BIN)

$(BIN): $(shell find src -name '*.cs' -o -name '*.csproj') Directory.Build.props Directory.Packages.props
	$(DOTNET) publish src/LiveImager/LiveImager.csproj -c Release -o artifacts
	@rm -f artifacts/*.dbg artifacts/*.pdb

test: deps publish
	LIVEIMAGER_BINARY=$(CURDIR)/$(BIN) scripts/run-tests.sh $(CONFIG)

# The TUI's main screens as 80x25 text, rendered headless by the TUI tests, for docs/screens and the README.
screenshots:
	LIVEIMAGER_SCREENSHOTS=$(CURDIR)/docs/screens $(DOTNET) test tests/LiveImager.Tui.Tests -c $(CONFIG) --filter "Category=Screenshots"

demo: deps publish
	scripts/demo.sh $(BIN)

bench: deps publish
	scripts/bench.sh $(BIN)

live-deps:
	@scripts/install-deps.sh --live

live: live-deps publish
	scripts/build-live-image.sh

live-test: live-deps
	scripts/test-live-image.sh

clean:
	rm -rf artifacts src/*/bin src/*/obj tests/*/bin tests/*/obj
