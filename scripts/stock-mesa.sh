#!/usr/bin/env bash
# Stock Debian 12 Mesa 22.3.6 (OpenGL ES over llvmpipe), side by side with whatever Mesa is
# installed, for Dawn's OpenGL ES compatibility adapter as a fresh Debian 12 machine has it.
# Installs nothing: Debian's own packages are fetched with `apt-get download` and unpacked with
# `dpkg -x` into a private folder (default ~/.cache/dualalign-gpu/mesa-22.3.6; set
# DUALALIGN_STOCK_MESA_DIR to move it), and a copy of Mesa's EGL vendor file names the unpacked
# library by its absolute path. Needs apt-get and dpkg (Debian/Ubuntu) with Debian 12's apt
# sources, and the system's libegl1 (glvnd).
#   bash scripts/stock-mesa.sh --env        # print the environment: eval "$(bash scripts/stock-mesa.sh --env)"
#   bash scripts/stock-mesa.sh CMD ARGS...  # run CMD under it (DUALALIGN_BACKEND=webgpu-compat), e.g.
#   bash scripts/stock-mesa.sh npx vitest run test/engine
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=22.3.6-1+deb12u2
PACKAGES=("libegl-mesa0=$VERSION" "libgl1-mesa-dri=$VERSION" "libglapi-mesa=$VERSION" "libgbm1=$VERSION" libllvm15)
dir=${DUALALIGN_STOCK_MESA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dualalign-gpu/mesa-22.3.6}
say() { printf '[stock-mesa] %s\n' "$*" >&2; }

if [ $# -eq 0 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then sed -n '2,12p' "$0"; exit 0; fi

if [ ! -f "$dir/ready" ]; then
  for tool in apt-get dpkg; do
    command -v "$tool" >/dev/null || { say "needs $tool (Debian/Ubuntu with Debian 12's apt sources)"; exit 1; }
  done
  say "fetching Mesa $VERSION into $dir (apt-get download + dpkg -x; nothing is installed)"
  rm -rf "$dir"
  mkdir -p "$dir/root"
  # apt-get download drops root privileges to the _apt user where it can: give it a folder of its
  # own (a folder under root's home is not reachable to _apt, and apt would warn).
  debs=$(mktemp -d)
  trap 'rm -rf "$debs"' EXIT
  chmod 0755 "$debs"
  if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$debs"; fi
  if ! (cd "$debs" && apt-get download -q "${PACKAGES[@]}" >&2); then
    say "apt-get download failed: these packages come from Debian 12 (bookworm) main; run 'apt-get update' (as root) and retry"
    exit 1
  fi
  for deb in "$debs"/*.deb; do dpkg -x "$deb" "$dir/root"; done
  egl=$(find "$dir/root" -name 'libEGL_mesa.so.0' | head -1)
  [ -n "$egl" ] || { say "libEGL_mesa.so.0 not found in the unpacked packages"; exit 1; }
  lib=$(dirname "$egl")
  printf '{\n  "file_format_version" : "1.0.0",\n  "ICD" : { "library_path" : "%s" }\n}\n' "$egl" >"$dir/50_mesa.json"
  printf '%s\n' "$lib" >"$dir/ready"
fi
lib=$(cat "$dir/ready")

export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LIBGL_DRIVERS_PATH="$lib/dri"
export __EGL_VENDOR_LIBRARY_FILENAMES="$dir/50_mesa.json"
export EGL_PLATFORM=surfaceless
export DUALALIGN_BACKEND=webgpu-compat

# The adapter must really be the stock driver: otherwise a run would test something else.
if ! adapter=$(node scripts/probe-adapter.mjs compat 2>/dev/null); then
  say "Dawn finds no OpenGL ES adapter with the unpacked Mesa (is libegl1 installed? apt-get install libegl1)"
  exit 1
fi
case "$adapter" in
  *"Mesa 22.3.6"*) ;;
  *) say "the OpenGL ES adapter is not stock Mesa 22.3.6: $adapter"; exit 1 ;;
esac

if [ "$1" = "--env" ]; then
  for v in LD_LIBRARY_PATH LIBGL_DRIVERS_PATH __EGL_VENDOR_LIBRARY_FILENAMES EGL_PLATFORM DUALALIGN_BACKEND; do
    printf 'export %s=%q\n' "$v" "${!v}"
  done
  exit 0
fi
say "adapter: $adapter"
exec "$@"
