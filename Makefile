# Vox — build, fetch models, serve, test, benchmark.
#   make up      install what is missing, build, fetch models, serve on $(LISTEN)
#   make test    everything `make up` needs, then the whole test suite
#   make lint    formatting, module cycles and clippy (native and wasm32-wasip2), warnings denied

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

LISTEN ?= 127.0.0.1:3000
# Spin drops an idle instance after 1 s; a local server keeps its loaded models warm longer.
# Prometheus metrics on their own port (docs/operations.md).
METRICS_LISTEN ?= 127.0.0.1:9464
VOX_FLAGS ?= --idle-instance-timeout 600s --metrics-listen $(METRICS_LISTEN)
CARGO ?= cargo
PYTHON ?= python3
WASM_TARGET := wasm32-wasip2
COMPONENTS := vox-gateway vox-asr vox-tts vox-responder
# The wasi:nn builds `vox up` runs in their place (spin.toml's `tool.vox.wasi_nn_source`). Built
# in a cargo invocation of their own: built with the portable ones, cargo would unify the
# `wasi-nn` feature of the crates they share into the portable builds too.
COMPONENTS_NN := vox-asr-nn vox-tts-nn
# Every wasm32-wasip2-only member but the wasi:nn builds: the components, their shared crates, the
# host's test component.
WASM_MEMBERS := $(COMPONENTS) vox-http-kit vox-preinit vox-test-probe
# The fast test tier: crates whose tests need no models, no wasm build and no system packages.
UNIT_CRATES := vox-error vox-api vox-audio
# Debian packages the build needs: a wasm C toolchain for espeak-ng inside the tts component;
# and the tests: ffmpeg decodes the speech routes' mp3, opus and flac as a client would.
APT_PACKAGES := clang-19 lld-19 llvm-19 libclang-19-dev wasi-libc libclang-rt-19-dev-wasm32 \
	libc++-19-dev-wasm32 cmake ffmpeg

# What the browser test needs: Debian's Chromium and its WebDriver, and selenium (pinned in
# tests/requirements-browser.txt) in a venv kept with the other cached tools.
BROWSER_PACKAGES := chromium chromium-driver
VOX_CACHE ?= $(HOME)/.cache/vox
BROWSER_VENV := $(VOX_CACHE)/venv-browser
# And the tests: xz unpacks the Spin CLI the conformance tests use when ../shared/tools/spin.xz is
# there (tests/src/spin.rs); docker-registry is the OCI registry they push the app to, on loopback.
TEST_APT_PACKAGES := xz-utils docker-registry
# Python modules deploy/check.py needs (PyYAML), pinned for when the system has none.
TEST_PIP_PACKAGES := PyYAML==6.0.3

# Components shipped pre-initialised (models loaded in their snapshot; docs/preinit.md).
PREINIT := asr tts

.PHONY: help up build components host preinit models deps test-deps lint test test-unit bench soak clean \
	build-small

help:
	@echo "make up      build, fetch the bundled models and serve on http://$(LISTEN)"
	@echo "make test    run every test (builds and fetches what is missing)"
	@echo "make test-unit  the fast tier: unit and data-driven tests, no models or wasm build"
	@echo "make lint    rustfmt, module cycles, clippy -D warnings (native and wasm32-wasip2)"
	@echo "make build   build the wasm components and the vox host, and pre-initialise asr and tts"
	@echo "make models  download and check the bundled model weights (no-op when present)"
	@echo "make test-deps  Chromium, its WebDriver and selenium for the browser test (no-op when present)"
	@echo "make bench   measure Vox against the reference tools (see bench/)"
	@echo "make soak    30 minutes of mixed traffic against vox up (see bench/README.md)"
	@echo "make build-small  the smallest deployable app: lazy components, default model and voice only"
	@echo "make clean   remove build outputs (models stay)"

up: build models
	./target/release/vox up -f spin.toml --listen $(LISTEN) $(VOX_FLAGS)

build: components host preinit

components: deps
	$(CARGO) build --release --target $(WASM_TARGET) $(addprefix -p ,$(COMPONENTS))
	$(CARGO) build --release --target $(WASM_TARGET) $(addprefix -p ,$(COMPONENTS_NN))

host: deps
	$(CARGO) build --release -p vox

# `vox preinit` rebuilds a snapshot only when the component, its variables or its model
# files changed, so this costs a second when nothing did.
preinit: components host models
	@for c in $(PREINIT); do \
		./target/release/vox preinit $$c -f spin.toml --wasm target/$(WASM_TARGET)/release/vox_$$c.wasm; done

# The smallest deployable app (docs/deploy.md, "Profiles"): plain components that load their
# model on first use, and only the default model's files: target/small/spin.toml.
build-small: components models
	$(PYTHON) deploy/small_app.py

models: deps
	$(PYTHON) models/fetch.py
	$(PYTHON) models/espeak_data.py

# Installs the Debian packages of $(1) that are missing, so it costs nothing on a prepared machine.
define apt_install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "$@: installing $$missing"; \
		sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; fi
endef

deps:
	@if ! rustup target list --installed 2>/dev/null | grep -qx $(WASM_TARGET); then \
		echo "deps: adding rust target $(WASM_TARGET)"; rustup target add $(WASM_TARGET); fi
	$(call apt_install,$(APT_PACKAGES))

test-deps: deps $(BROWSER_VENV)/.installed
	$(call apt_install,$(BROWSER_PACKAGES) $(TEST_APT_PACKAGES))
	@$(PYTHON) -c 'import yaml' 2>/dev/null || $(PYTHON) -m pip install --quiet $(TEST_PIP_PACKAGES)

# Rebuilt only when the pins change.
$(BROWSER_VENV)/.installed: tests/requirements-browser.txt
	$(PYTHON) -m venv $(BROWSER_VENV)
	$(BROWSER_VENV)/bin/pip install --quiet --disable-pip-version-check -r $<
	touch $@

# `--release` throughout: the tests share the build's profile, so nothing compiles twice.
lint: deps
	$(CARGO) fmt --all --check
	$(PYTHON) .ci/module_cycles.py
	$(CARGO) clippy --release --all-targets -- -D warnings
	$(CARGO) clippy --release --target $(WASM_TARGET) $(addprefix -p ,$(WASM_MEMBERS)) -- -D warnings
	$(CARGO) clippy --release --target $(WASM_TARGET) $(addprefix -p ,$(COMPONENTS_NN)) -- -D warnings

test: build models test-deps
	$(PYTHON) -m unittest discover -s bench -t .
	$(PYTHON) -m unittest discover -s deploy
	$(CARGO) test --release --no-fail-fast

test-unit:
	$(PYTHON) -m unittest discover -s bench -t .
	$(PYTHON) -m unittest discover -s deploy
	$(CARGO) test --release $(addprefix -p ,$(UNIT_CRATES))
	$(CARGO) test --release -p vox-whisper -p vox-piper --lib
	$(CARGO) test --release -p vox --lib --test manifests

soak: build models
	$(PYTHON) -m bench.soak

bench: build models
	$(PYTHON) -m bench

clean:
	$(CARGO) clean
