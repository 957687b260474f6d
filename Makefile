# The commands of the README, and the ones CI runs (.ci/run calls `make test`).
#   make setup   install the pinned Rust toolchain, and QEMU + OVMF if they are missing
#   make run     boot the release build to the shell in QEMU (DEBUG=1: the debug build; ARGS="..."
#                goes to `boot run`)
#   make test    host unit tests and the QEMU system tests
#   make check   rustfmt and clippy (warnings are errors) over the host and the guest crates
#   make bench   the benchmarks (BENCHMARKS.md): one figure per line on stdout, progress and a
#                table on stderr, a chart in target/bench/bench.svg (ARGS="--wall-clock" for
#                wall-clock mode)
#   make compare the benchmarks on the exokernel path, the microkernel path and Linux (Debian's
#                kernel, installed here if missing) in the same QEMU machine: a table and an SVG
#   make profile ROW=B7  where one benchmark row's instructions go, per function, kernel and
#                user (a QEMU plugin counts them under -icount; ROW: B3, B8.1, B8.64, B8.interpreted, B8.memory,
#                B4..B7, B4.micro..B7.micro)
#   make soak    10^6 fuzzed system calls (ten seeds, SEEDS="..." to choose) on the release build
#   make clean   remove target/ (builds, guest builds, disk images)

SHELL := /bin/bash
ARGS ?=
QEMU := qemu-system-x86_64
OVMF := /usr/share/ovmf/OVMF.fd
# apt-get needs root; use sudo only when we are not root already.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup run test check bench compare profile soak clean

setup:
	@echo "setup: rustup toolchain install (the toolchain pinned in rust-toolchain.toml)"
	@rustup toolchain install
	@if command -v $(QEMU) >/dev/null 2>&1 && [ -f $(OVMF) ]; then \
		echo "setup: $(QEMU) and $(OVMF) are installed"; \
	else \
		echo "setup: $(QEMU) or $(OVMF) is missing: apt-get install -y qemu-system-x86 ovmf"; \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y qemu-system-x86 ovmf; \
	fi

# `make run` boots the release build, which reaches the prompt in a few seconds; DEBUG=1 boots
# the debug build (slower to boot and to run, with debug assertions on).
RUN_PROFILE := $(if $(DEBUG),,--release)
run: setup
	cargo run -p boot -- run $(RUN_PROFILE) $(ARGS)

test: setup
	cargo test --no-fail-fast

# The guest crates (kernel, libOS, apps) build only for x86_64-unknown-none, the host ones
# (boot, its Linux benchmark program, its profile plugin, the test harness) only for the host;
# the crates in between are checked both ways.
GUEST_TARGET := x86_64-unknown-none
check: setup
	cargo fmt --all --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --workspace --exclude boot --exclude linux-bench --exclude profile-plugin --exclude system-tests --target $(GUEST_TARGET) -- -D warnings

bench: setup
	cargo run --release -p boot -- bench $(ARGS)

ROW ?= B7
profile: setup
	cargo run --release -p boot -- profile $(ROW) $(ARGS)

# Debian's own kernel package, for the Linux column; when it cannot be installed, `boot compare`
# says so and prints the other two columns.
LINUX_PACKAGE := linux-image-amd64
compare: setup
	@if ls /boot/vmlinuz-* >/dev/null 2>&1; then \
		echo "compare: a Linux kernel is installed: $$(ls /boot/vmlinuz-* | tail -1)"; \
	else \
		echo "compare: no Linux kernel in /boot: apt-get install -y $(LINUX_PACKAGE)"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			$(LINUX_PACKAGE) || echo "compare: $(LINUX_PACKAGE) could not be installed"; \
	fi
	cargo run --release -p boot -- compare $(ARGS)

# Each seed is 10^5 fuzzed calls in one boot; the boot tool fails unless every seed's run exits
# 0, and the kernel never panics (status 100) or finds its tables inconsistent at power-off.
SEEDS ?= 11 12 13 14 15 16 17 18 19 20
SOAK_CALLS := 100000
soak: setup
	set -o pipefail; cargo run --release -p boot -- run --release --no-net --timeout 3600 \
		--args "$(foreach seed,$(SEEDS),fuzz-syscalls:$(seed):$(SOAK_CALLS))" </dev/null \
		| tee target/soak.log
	@! grep -a -e "FAILED" -e "CONTRACT BROKEN" target/soak.log
	@grep -a -c "all checks passed" target/soak.log | grep -qx "$(words $(SEEDS))"
	@grep -a "exokernel: tables consistent" target/soak.log

clean:
	cargo clean
