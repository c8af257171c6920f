#!/usr/bin/env bash
# aarch64: the runtime's kernels (ARMv8 AES, and everything portable around them)
# are linted for aarch64-unknown-linux-gnu and their unit tests run under qemu-user.
# Installs what it needs; if the target or the packages cannot be had, it says so
# and skips (exit 0). Once installed, any failure fails CI.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=aarch64-unknown-linux-gnu
skip() { echo "== aarch64: skipped: $*"; exit 0; }

if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
  rustup target add "$TARGET" >/dev/null 2>&1 || skip "rustup cannot add $TARGET"
fi
if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  if command -v apt-get >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user) \
      >/dev/null 2>&1 || skip "cannot install gcc-aarch64-linux-gnu and qemu-user"
  else
    skip "no apt-get to install an aarch64 linker and qemu-user"
  fi
fi

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/aarch64-ci}"

echo "== aarch64: cargo clippy (garnet-runtime)"
cargo clippy --release --target "$TARGET" -p garnet-runtime --all-targets -- -D warnings
echo "== aarch64: kernel tests under qemu-user"
cargo test --release --target "$TARGET" -p garnet-runtime --lib -- aes:: ot::transpose hash:: prg:: garble::
