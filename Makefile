# The commands of the README, and the ones CI runs (.ci/run calls `make test`).
#   make setup   install the pinned Rust toolchain, and QEMU + OVMF if they are missing
#   make run     boot init running hello in QEMU (ARGS="..." goes to `boot run`)
#   make test    host unit tests and the QEMU system tests
#   make bench   the benchmarks, one figure per line (ARGS="--wall-clock" for wall-clock mode)
#   make clean   remove target/ (builds, guest builds, disk images)

SHELL := /bin/bash
ARGS ?=
QEMU := qemu-system-x86_64
OVMF := /usr/share/ovmf/OVMF.fd
# apt-get needs root; use sudo only when we are not root already.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup run test bench clean

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

run: setup
	cargo run -p boot -- run $(ARGS)

test: setup
	cargo test --no-fail-fast

bench: setup
	cargo run --release -p boot -- bench $(ARGS)

clean:
	cargo clean
