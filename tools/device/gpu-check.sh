#!/usr/bin/env bash
# One real-GPU check for the workplace's device machine (NVIDIA H100/H200, x86-64, root, no network,
# no node/npm there). It unpacks what tools/device/pack.sh built here (.gl/: Debian's Vulkan/GL
# loader debs; .device/node.xz: node; .device/nm.tar.xz: the node_modules the tests need), prints
# the GPU and the WebGPU adapter Dawn gets (deviceInfo()), runs the vitest suites on it and then
# the attention benchmark standalone. Every step has its own time limit. Files left in $OUT:
#   setup.log  adapter.json  tests.log  junit.xml  bench.log  attention.json
# Device call: command `bash tools/device/gpu-check.sh`, carry [".gl", ".device"], timeout_s 480.
# Dawn's "max...artificially reduced" warnings (two per worker process) are left out of tests.log and bench.log.
# Settings (environment):
#   GPU_CHECK_TESTS       test paths for vitest (default "test/engine test/attention test/gram test/models";
#                         "all" runs the whole suite)
#   GPU_CHECK_TEST_S      time limit of the test step, seconds (default 240)
#   GPU_CHECK_BENCH_S     time limit of the benchmark step, seconds (default 120; 0 skips it)
#   GPU_CHECK_WORKERS     vitest worker processes (default: half the cores, 2 to 8)
#   GPU_CHECK_BENCH_ARGS  attention.mjs options (default "--no-tfjs --no-torch")
#   GPU_CHECK_DEBS        1/0: unpack .gl/*.deb into / (default: on a machine with nvidia-smi, or
#                         where no libvulkan.so.1 is installed)
# Here (lavapipe) it proves the packaging: copy the tree that travels plus .gl and .device to a
# scratch folder and run `OUT=/tmp/out bash tools/device/gpu-check.sh` there.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
OUT=${OUT:-$root/.device/out}
mkdir -p "$OUT"
t0=$(date +%s)
log() { echo "== [$(($(date +%s) - t0))s] $*" | tee -a "$OUT/setup.log"; }
summary=()
note() { summary+=("$1: rc $2 ($3 s)"); }

# --- 1. GPU driver and Vulkan loader ---------------------------------------------------------------
: >"$OUT/setup.log"
log "host $(uname -srm), $(nproc) cores, $(id -un)"
if command -v nvidia-smi >/dev/null; then
  { nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv; } 2>&1 | tee -a "$OUT/setup.log"
else log "no nvidia-smi here"; fi
debs=${GPU_CHECK_DEBS:-}
if [ -z "$debs" ]; then
  # (ldconfig's list read whole first: `ldconfig -p | grep -q` fails under pipefail when grep quits early)
  libs=$(ldconfig -p 2>/dev/null)
  if command -v nvidia-smi >/dev/null || [[ $libs != *'libvulkan.so.1 '* ]]; then debs=1; else debs=0; fi
fi
if [ "$debs" = 1 ] && ls .gl/*.deb >/dev/null 2>&1; then
  log "unpacking .gl/*.deb into / (device README recipe)"
  for f in .gl/*.deb; do dpkg -x "$f" / || log "dpkg -x $f failed"; done
  ldconfig
else
  log "not unpacking .gl debs (GPU_CHECK_DEBS=$debs; a libvulkan.so.1 is installed here)"
fi
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$icd" ]; then
    # The driver's folder is not on the loader's search path: name its manifest (both spellings).
    export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
    egl=$(dirname "$(dirname "$icd")")/glvnd/egl_vendor.d/10_nvidia.json
    [ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$egl
    log "Vulkan driver manifest $icd: $(tr -d '\n ' <"$icd")"
    break
  fi
done
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
  [ -d "$d" ] && export LD_LIBRARY_PATH=$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
done
ldconfig -p 2>/dev/null | grep -E 'libvulkan\.so|libGLX_nvidia|libEGL_nvidia' | tee -a "$OUT/setup.log"
export NO_COLOR=1
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d /tmp/xdg-XXXXXX)}
chmod 700 "$XDG_RUNTIME_DIR"

# --- 2. node and node_modules (xz, else Python's lzma) ----------------------------------------------
unxz_to_stdout() {
  if command -v xz >/dev/null; then xz -dc -T0 "$1"; else
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer, 1 << 20)' "$1"
  fi
}
bin=/tmp/gpu-check/bin
mkdir -p "$bin"
if [ -f .device/node.xz ]; then
  unxz_to_stdout .device/node.xz >"$bin/node" && chmod +x "$bin/node"
fi
export PATH=$bin:$PATH
if ! [ -x "$bin/node" ] || ! node --version >/dev/null 2>&1; then
  log "no working node from .device/node.xz (was .device carried? run tools/device/pack.sh here)"; exit 3
fi
log "node $(command -v node) $(node --version)"
if [ -f .device/nm.tar.xz ]; then
  unxz_to_stdout .device/nm.tar.xz | tar -xf - || { log "unpacking .device/nm.tar.xz failed"; exit 3; }
fi
[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] && [ -f node_modules/vitest/vitest.mjs ] || { log "node_modules incomplete"; exit 3; }
log "unpacked node_modules ($(du -sm node_modules | cut -f1) MB)"

# --- 3. build dist/ from this tree, then the adapter ---------------------------------------------
s=$(date +%s)
timeout 120 node scripts/build.mjs 2>&1 | tee -a "$OUT/setup.log"
rc=$?; note build $rc $(($(date +%s) - s))
s=$(date +%s)
adapter_js='const L = await import("./dist/index.js");
const info = await L.init();
console.log(JSON.stringify(L.deviceInfo(), null, 1));
process.exit(info.backend === "webgpu" ? 0 : 2);'
timeout 90 node --input-type=module -e "$adapter_js" >"$OUT/adapter.json" 2>>"$OUT/setup.log"
rc=$?; note adapter $rc $(($(date +%s) - s))
cat "$OUT/adapter.json"
if [ $rc != 0 ]; then
  log "no core WebGPU adapter (rc $rc): the Vulkan loader's view follows"
  VK_LOADER_DEBUG=error,warn,driver timeout 60 node --input-type=module -e "$adapter_js" 2>&1 | head -80 | tee -a "$OUT/setup.log"
fi

# --- 4. tests ----------------------------------------------------------------------------------------
tests=${GPU_CHECK_TESTS:-test/engine test/attention test/gram test/models}
[ "$tests" = all ] && tests=
workers=${GPU_CHECK_WORKERS:-$(($(nproc) / 2))}
[ "$workers" -lt 2 ] && workers=2
[ "$workers" -gt 8 ] && workers=8
log "vitest run ${tests:-(all)} with $workers workers, limit ${GPU_CHECK_TEST_S:-240} s"
s=$(date +%s)
# shellcheck disable=SC2086
timeout -k 10 "${GPU_CHECK_TEST_S:-240}" node node_modules/vitest/vitest.mjs run $tests \
  --maxWorkers="$workers" --silent=passed-only --reporter=dot --reporter=junit --outputFile.junit="$OUT/junit.xml" \
  2>&1 | { grep -v --line-buffered 'artificially reduced from' || true; } | tee "$OUT/tests.log"
rc=$?; note tests $rc $(($(date +%s) - s))
[ $rc = 124 ] && log "tests stopped at their time limit"

# --- 5. attention benchmark ----------------------------------------------------------------------
if [ "${GPU_CHECK_BENCH_S:-120}" != 0 ]; then
  log "bench/suites/attention.mjs ${GPU_CHECK_BENCH_ARGS:---no-tfjs --no-torch}, limit ${GPU_CHECK_BENCH_S:-120} s"
  s=$(date +%s)
  # shellcheck disable=SC2086
  timeout -k 10 "${GPU_CHECK_BENCH_S:-120}" node bench/suites/attention.mjs ${GPU_CHECK_BENCH_ARGS:---no-tfjs --no-torch} \
    --out="$OUT/attention.json" 2>&1 | { grep -v --line-buffered 'artificially reduced from' || true; } | tee "$OUT/bench.log"
  rc=$?; note bench $rc $(($(date +%s) - s))
fi

log "summary: ${summary[*]}"
for line in "${summary[@]}"; do case "$line" in *"rc 0 "*) ;; *) exit 1 ;; esac; done
exit 0
