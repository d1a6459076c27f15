#!/usr/bin/env bash
# dualalign-gpu set-up for a fresh machine: installs the npm dependencies, then makes sure
# Dawn finds a WebGPU adapter. On Debian/Ubuntu without a GPU driver it installs Mesa's
# software Vulkan driver (lavapipe); Dawn refuses the Mesa 22 lavapipe of Debian 12, so there it
# comes from bookworm-backports (Mesa >= 24), even when Dawn's OpenGL ES adapter already works.
# If Vulkan cannot be had, it uses (or installs, EGL) the OpenGL ES path for Dawn's compatibility
# adapter. It prints the adapter the tests and the demo will use. Idempotent; run as root or sudo.
#   bash scripts/setup.sh             # npm + adapter
#   bash scripts/setup.sh --browser   # also Debian's chromium, for `npm run test:browser`
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '[setup] %s\n' "$*"; }
changed=()

# --- npm dependencies -----------------------------------------------------------------------
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
  changed+=("node_modules (npm ci)")
else
  say "npm dependencies are up to date"
fi

# --- privileges for apt ---------------------------------------------------------------------
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO="none"; fi
apt_ok() { command -v apt-get >/dev/null 2>&1 && [ "$SUDO" != "none" ]; }
apt_updated=0
pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  local pkgs=() before=() a i
  for a in "$@"; do case "$a" in -*|bookworm-backports) ;; *) pkgs+=("$a") ;; esac; done
  for a in "${pkgs[@]}"; do before+=("$(pkg_version "$a")"); done
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  # Only what apt really installed or upgraded counts as changed (a second run changes nothing).
  for i in "${!pkgs[@]}"; do
    a=$(pkg_version "${pkgs[$i]}")
    if [ "$a" != "${before[$i]}" ]; then changed+=("apt: ${pkgs[$i]} ${before[$i]:-(new)} -> $a"); fi
  done
}
. /etc/os-release 2>/dev/null || true

probe() { node scripts/probe-adapter.mjs "$@" 2>/dev/null; }

# --- WebGPU adapter -------------------------------------------------------------------------
# The tested path is a core (Vulkan) adapter. On Debian 12 the OpenGL ES compatibility adapter
# over the stock Mesa 22 needs driver-bug work-arounds (docs/ENGINE.md, "Driver bugs"), so there
# lavapipe >= 24 is installed from bookworm-backports even when that adapter is found; it stays
# the fallback when Vulkan cannot be had. Elsewhere any adapter Dawn finds is kept.
bookworm=0
if [ "${ID:-}" = "debian" ] && [ "${VERSION_CODENAME:-}" = "bookworm" ]; then bookworm=1; fi
compat=""
if adapter=$(probe core); then
  say "WebGPU adapter found: $adapter"
elif compat=$(probe compat) && [ "$bookworm" -eq 0 ]; then
  adapter=$compat
  say "WebGPU adapter found: $adapter"
elif ! apt_ok; then
  if [ -n "$compat" ]; then
    adapter=$compat
    say "only the OpenGL ES compatibility adapter is here ($compat), and I cannot apt-get install Mesa's Vulkan driver; using it."
  else
    say "No WebGPU adapter, and this is not a Debian/Ubuntu machine where I can apt-get install."
    say "Install a Vulkan (Linux: Mesa's lavapipe >= 24 or a GPU driver), Metal (macOS) or D3D12 (Windows) driver,"
    say "or use the CPU reference backend: DUALALIGN_BACKEND=cpu."
    exit 1
  fi
else
  if [ "$bookworm" -eq 1 ]; then
    src=/etc/apt/sources.list.d/bookworm-backports.sources
    if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
      say "adding the bookworm-backports apt source ($src): Debian 12's Mesa 22 lavapipe is too old for Dawn"
      printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' | $SUDO tee "$src" >/dev/null
      changed+=("apt source: $src")
    fi
    say "installing Mesa's software Vulkan driver (lavapipe) from bookworm-backports${compat:+ (preferred over the OpenGL ES adapter found: $compat)}"
    apt_install -t bookworm-backports mesa-vulkan-drivers libvulkan1 || true
  else
    say "installing Mesa's software Vulkan driver"
    apt_install mesa-vulkan-drivers libvulkan1 || true
  fi
  if adapter=$(probe core); then
    say "WebGPU adapter found: $adapter"
  elif [ -n "$compat" ]; then
    adapter=$compat
    say "Vulkan adapter still missing; falling back to the OpenGL ES compatibility adapter: $adapter"
  else
    say "Vulkan adapter still missing; installing the OpenGL ES path (EGL) for Dawn's compatibility adapter"
    apt_install libegl1 libegl-mesa0 libegl-dev libgles2 || true
    if adapter=$(probe compat); then
      say "WebGPU adapter found: $adapter (use DUALALIGN_BACKEND=webgpu-compat or let init() fall back)"
    else
      say "No WebGPU adapter after installing Mesa. Check 'vulkaninfo --summary' (package vulkan-tools) or use DUALALIGN_BACKEND=cpu."
      exit 1
    fi
  fi
fi
# What init() will take: DUALALIGN_BACKEND if set, else the core adapter, else OpenGL ES.
case "${DUALALIGN_BACKEND:-}" in
  webgpu-compat) use=$(probe compat || echo "none: DUALALIGN_BACKEND=webgpu-compat but no OpenGL ES adapter") ;;
  cpu) use="CPU reference backend (DUALALIGN_BACKEND=cpu)" ;;
  *) use=$adapter ;;
esac
say "the tests and the demo will use: $use"

# --- optional: Chromium for the browser tests -----------------------------------------------
if [ "$want_browser" -eq 1 ]; then
  if command -v chromium >/dev/null 2>&1; then
    say "chromium present: $(chromium --version 2>/dev/null | head -1)"
  elif apt_ok; then
    say "installing Debian's chromium for the browser tests"
    apt_install chromium
  else
    say "cannot install chromium here; the browser tests will be skipped"
  fi
fi

if [ "${#changed[@]}" -gt 0 ]; then
  say "changed on this machine:"
  for c in "${changed[@]}"; do say "  - $c"; done
else
  say "nothing changed: already set up"
fi
