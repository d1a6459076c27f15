/**
 * The browser entry of dualalign-gpu (bundled to dist/browser/index.js by scripts/build.mjs, with
 * Dawn swapped for navigator.gpu). It re-exports src/core.ts, the browser-safe part of the API;
 * src/index.ts adds what needs Node (file-system loaders, `*.node.ts`, training runs).
 * test/browser/api.test.ts checks that the two entries agree.
 *
 * `init()` differs only in its error: without WebGPU it throws a NoAdapterError whose hint is for a
 * browser user (which browsers, which flag, secure context, or `init({ backend: 'cpu' })`).
 */
import { init as initAny, type InitOptions, type DeviceInfo } from './gpu/init.js';
import { NoAdapterError } from './gpu/errors.js';

// Everything browser-safe; `init` below shadows core's with a browser-specific error.
export * from './core.js';

/** Why WebGPU is missing here, in words a browser user can act on. */
export function webgpuUnavailableReason(): string | null {
  const g = globalThis as { navigator?: { gpu?: unknown }; isSecureContext?: boolean };
  if (g.navigator?.gpu) return null;
  if (g.isSecureContext === false) {
    return 'this page is not a secure context, and browsers expose WebGPU (navigator.gpu) only to https:// pages and http://localhost';
  }
  return 'this browser does not expose WebGPU (navigator.gpu is undefined)';
}

const BROWSER_HINT =
  'Use a browser with WebGPU enabled: Chrome or Edge 113+ (on Linux start it with --enable-unsafe-webgpu or enable ' +
  'chrome://flags/#enable-unsafe-webgpu), Safari 26+, or Firefox 141+ (Windows; elsewhere set dom.webgpu.enabled in about:config). ' +
  'Turn on hardware acceleration in the browser settings, and check chrome://gpu for a blocklisted GPU. ' +
  'Or call init({ backend: "cpu" }) to run on the (slow) CPU reference backend.';

/**
 * Acquires the page's WebGPU device (navigator.gpu): the core adapter, else a compatibility-mode
 * one; `init({ backend: 'cpu' })` selects the CPU reference backend. Safe to call again.
 * Throws NoAdapterError with a browser-specific hint when WebGPU is unavailable.
 */
export async function init(options: InitOptions = {}): Promise<DeviceInfo> {
  if (options.backend !== 'cpu') {
    const reason = webgpuUnavailableReason();
    if (reason) throw new NoAdapterError(`WebGPU is not available: ${reason}. ${BROWSER_HINT}`);
  }
  try {
    return await initAny(options);
  } catch (e) {
    if (e instanceof NoAdapterError) {
      throw new NoAdapterError(
        `WebGPU is not available: navigator.gpu.requestAdapter() found no adapter (the GPU may be blocklisted, or hardware acceleration is off). ${BROWSER_HINT}`,
        { cause: e },
      );
    }
    throw e;
  }
}
