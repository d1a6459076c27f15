#!/usr/bin/env bash
# Builds the ignored folders that tools/device/gpu-check.sh needs on a GPU machine that has no
# network, no node and no npm (the workplace's device machines: x86-64, root, Ubuntu + NVIDIA driver):
#   .gl/       Debian's Vulkan loader (libvulkan1) and GL/EGL loader debs, unpacked there with dpkg -x
#              (the recipe of the device README)
#   .device/   node.xz     this machine's node binary, stripped, xz -9e (about 21 MB)
#              nm.tar.xz   the node_modules closure that the build, vitest and the tests need
#                          (tools/device/nm-closure.mjs), Dawn's linux-x64 dawn.node only (about 20 MB)
# Run it here, in the repository, after `npm ci`, on x86-64 Linux. It takes about 3 minutes (xz).
# Then the device call is: command `bash tools/device/gpu-check.sh`, carry [".gl", ".device"].
# `--no-gl` / `--no-node` / `--no-nm` skip a part that is already built.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
args=" $* "
want() { case "$args" in *" --no-$1 "*) return 1 ;; esac; return 0; }

[ "$(uname -m)" = x86_64 ] || { echo "pack.sh: this machine is $(uname -m); the device machine is x86-64: pack there-compatible binaries" >&2; exit 1; }
[ -f node_modules/vitest/package.json ] || { echo "pack.sh: node_modules is missing: run npm ci first" >&2; exit 1; }
mkdir -p .device

if want gl; then
  echo "== .gl/: Debian's loader debs (amd64)"
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $o update -qq
  rm -f .gl/*.deb
  # shellcheck disable=SC2086
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  ls .gl/*.deb >/dev/null
fi

if want node; then
  node_bin=$(readlink -f "$(command -v node)")
  file -L "$node_bin" | grep -q 'ELF 64-bit.*x86-64' || { echo "pack.sh: $node_bin is not an x86-64 ELF binary" >&2; exit 1; }
  echo "== .device/node.xz from $node_bin ($("$node_bin" --version))"
  tmp=$(mktemp -d)
  if command -v strip >/dev/null && strip --strip-all -o "$tmp/node" "$node_bin" 2>/dev/null && "$tmp/node" -e 0; then :; else cp "$node_bin" "$tmp/node"; fi
  xz -9e -T0 -c "$tmp/node" > .device/node.xz.part && mv .device/node.xz.part .device/node.xz
  rm -rf "$tmp"
fi

if want nm; then
  echo "== .device/nm.tar.xz"
  mapfile -t dirs < <(node tools/device/nm-closure.mjs)
  tar -cf - --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' \
    --exclude='node_modules/webgpu/dist/linux-arm64' --exclude='node_modules/.cache' "${dirs[@]}" |
    xz -9 -T0 > .device/nm.tar.xz.part
  mv .device/nm.tar.xz.part .device/nm.tar.xz
fi

# What travels: tracked + untracked-not-ignored files, plus the carried folders (limit 64 MiB).
tree=$(git ls-files -co --exclude-standard -z | xargs -0 stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
carried=$(du -cb .gl .device | tail -1 | cut -f1)
ls -l .gl .device
awk -v t="$tree" -v c="$carried" 'BEGIN { printf "travels: tree %.1f MiB + carried %.1f MiB = %.1f MiB (limit 64)\n", t/2^20, c/2^20, (t+c)/2^20 }'
