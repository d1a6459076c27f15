/**
 * init(): picks the backend the library uses from then on. In Node the GPU is Dawn (npm
 * `webgpu`): first its core adapter (Vulkan / Metal / D3D12), then its OpenGL ES adapter in
 * compatibility mode. In a browser it is navigator.gpu. 'cpu' selects the reference backend.
 */
import { GpuRuntime, type RuntimeInfo } from './runtime.js';
import { GpuError, NoAdapterError } from './errors.js';
import { probeAdapter, type AdapterQuirks } from './probe.js';
import { captureNativeStderr, debugEnabled, nodeGpu, platformTuneStore } from './dawn.js';
import { autotuneMatmul, setTuneStore } from '../backend/webgpu/matmul-tune.js';
import { CpuBackend } from '../backend/cpu.js';
import { WebGpuBackend } from '../backend/webgpu/backend.js';
import type { Backend } from '../backend/backend.js';

export type BackendChoice = 'webgpu' | 'webgpu-compat' | 'cpu';

export interface InitOptions {
  /** Force a backend; default: the DUALALIGN_BACKEND environment variable, else the best available. */
  backend?: BackendChoice;
  /** Pass 'low-power' or 'high-performance' to requestAdapter. */
  powerPreference?: GPUPowerPreference;
  /**
   * Let Dawn's and the driver's own messages (e.g. "Couldn't load Vulkan", "maxDynamic… artificially
   * reduced") reach stderr as they are printed. Default: the DUALALIGN_DEBUG environment variable;
   * otherwise they are kept in DeviceInfo.nativeLog, and printed only when no adapter is found.
   */
  debug?: boolean;
}

export interface DeviceInfo {
  backend: 'webgpu' | 'webgpu-compat' | 'cpu';
  vendor: string;
  architecture: string;
  description: string;
  featureLevel: 'core' | 'compatibility' | 'none';
  features: string[];
  limits: Record<string, number>;
  /** Subgroup size range, when the adapter has the 'subgroups' feature and reports it. */
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
  /** Driver bugs the capability probe found at init, whose work-arounds the kernels take (GPU backends). */
  quirks?: AdapterQuirks;
  /** What Dawn and the driver printed while the adapter was found (not shown unless debugging). */
  nativeLog?: string;
}

const SETUP_HINT =
  'No WebGPU adapter was found. On Debian/Ubuntu run `bash scripts/setup.sh` (it installs Mesa\'s software Vulkan driver, ' +
  'lavapipe, from bookworm-backports: libvulkan1 + mesa-vulkan-drivers >= 24, or the OpenGL ES fallback libegl1 libegl-mesa0 libegl-dev). ' +
  'Elsewhere install a Vulkan, Metal or D3D12 driver, or call init({ backend: "cpu" }).';

/**
 * Adapters the whole test suite has passed on: Mesa's lavapipe (llvmpipe) Vulkan, Mesa's OpenGL ES
 * through Dawn's compatibility mode, and NVIDIA's H200 on Vulkan. On any other, init() says once
 * that `dualalign doctor` / selfTest() can check it.
 */
export function isTestedAdapter(info: Pick<DeviceInfo, 'backend' | 'vendor' | 'architecture' | 'description'>): boolean {
  const text = `${info.vendor} ${info.architecture} ${info.description}`;
  if (info.backend === 'cpu') return true;
  if (info.backend === 'webgpu-compat') return /\bMesa\b/i.test(text) && /OpenGL ES/i.test(text);
  return /llvmpipe|lavapipe/i.test(text) || (/nvidia/i.test(text) && /\bH200\b/i.test(text));
}

/** The one line init() prints on an adapter the project has not been tested on. */
export function untestedAdapterNotice(info: DeviceInfo): string {
  return (
    `dualalign-gpu: this adapter (${[info.vendor, info.description].filter(Boolean).join(' ')}, ${info.backend}) has not been tested with dualalign-gpu; ` +
    `\`dualalign doctor\` (or selfTest() in the API) checks every kernel family on it against the CPU reference in about a minute.`
  );
}

let noticeShown = false;

const OPTIONAL_FEATURES: GPUFeatureName[] = ['shader-f16', 'subgroups' as GPUFeatureName, 'timestamp-query'];
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxBindGroups',
  'maxUniformBufferBindingSize',
] as const;

interface Engine {
  backend: Backend;
  runtime: GpuRuntime | null;
  info: DeviceInfo;
}

let engine: Engine | null = null;
const cpu = new CpuBackend();

function envBackend(): BackendChoice | undefined {
  const v = typeof process !== 'undefined' ? process.env?.DUALALIGN_BACKEND : undefined;
  if (!v) return undefined;
  if (v === 'webgpu' || v === 'webgpu-compat' || v === 'cpu') return v;
  throw new GpuError(`DUALALIGN_BACKEND=${v} is not one of webgpu, webgpu-compat, cpu`);
}

// Dawn's instance and adapter must outlive their devices: if the GPU object were collected, Dawn
// would tear down the instance under a live device and abort the process.
const liveInstances: (GPU | GPUAdapter)[] = [];

/**
 * Dawn finds adapters synchronously inside requestAdapter() and prints its warnings then; unless
 * debugging, they are captured into `log` instead of reaching the user's stderr first.
 */
function requestQuietly(gpu: GPU, options: GPURequestAdapterOptions, debug: boolean, log: string[]): Promise<GPUAdapter | null> {
  if (debug) return gpu.requestAdapter(options);
  const { value, text } = captureNativeStderr(() => gpu.requestAdapter(options));
  if (text) log.push(text);
  return value;
}

async function adapterFor(choice: 'webgpu' | 'webgpu-compat', powerPreference: GPUPowerPreference | undefined, debug: boolean, log: string[]): Promise<GPUAdapter | null> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) {
    return nav.gpu.requestAdapter({ powerPreference, ...(choice === 'webgpu-compat' ? { featureLevel: 'compatibility' } : {}) } as GPURequestAdapterOptions);
  }
  if (choice === 'webgpu-compat') {
    // Dawn's GLES backend renders without a display through EGL's surfaceless platform.
    if (typeof process !== 'undefined' && !process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = 'surfaceless';
    const gpu = await nodeGpu(['backend=opengles']);
    if (gpu) liveInstances.push(gpu);
    return gpu ? requestQuietly(gpu, { featureLevel: 'compatibility', powerPreference } as GPURequestAdapterOptions, debug, log) : null;
  }
  const gpu = await nodeGpu([]);
  if (gpu) liveInstances.push(gpu);
  return gpu ? requestQuietly(gpu, { powerPreference }, debug, log) : null;
}

async function openDevice(adapter: GPUAdapter, backend: 'webgpu' | 'webgpu-compat'): Promise<GpuRuntime> {
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const ai = adapter.info;
  const limits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) limits[name] = (device.limits as unknown as Record<string, number>)[name];
  const info: RuntimeInfo = {
    vendor: ai?.vendor ?? '',
    architecture: ai?.architecture ?? '',
    description: ai?.description ?? '',
    device: (ai as { device?: string })?.device ?? '',
    backend,
    featureLevel: adapter.features.has('core-features-and-limits' as GPUFeatureName) ? 'core' : 'compatibility',
    features: [...device.features],
    limits,
  };
  const sg = ai as { subgroupMinSize?: number; subgroupMaxSize?: number } | undefined;
  if (device.features.has('subgroups' as GPUFeatureName) && sg?.subgroupMinSize && sg.subgroupMaxSize) {
    info.subgroupMinSize = sg.subgroupMinSize;
    info.subgroupMaxSize = sg.subgroupMaxSize;
  }
  const runtime = new GpuRuntime(device, info);
  runtime.quirks = await probeAdapter(runtime);
  return runtime;
}

/** Acquires the device. Safe to call again: the existing engine is returned unless `backend` changes. */
export async function init(options: InitOptions = {}): Promise<DeviceInfo> {
  const choice = options.backend ?? envBackend();
  if (engine && (!choice || choice === engine.info.backend) && !engine.runtime?.lost) return engine.info;
  if (engine?.runtime && !engine.runtime.lost) engine.runtime.destroy();
  engine = null;
  if (choice === 'cpu') {
    engine = {
      backend: cpu,
      runtime: null,
      info: { backend: 'cpu', vendor: 'cpu', architecture: 'reference', description: 'CPU reference backend (TypeScript)', featureLevel: 'none', features: [], limits: {} },
    };
    return engine.info;
  }
  const tries: ('webgpu' | 'webgpu-compat')[] = choice ? [choice] : ['webgpu', 'webgpu-compat'];
  const failures: string[] = [];
  const debug = options.debug ?? debugEnabled();
  const log: string[] = [];
  for (const t of tries) {
    let adapter: GPUAdapter | null = null;
    try {
      adapter = await adapterFor(t, options.powerPreference, debug, log);
    } catch (e) {
      const native = (e as { nativeLog?: string }).nativeLog;
      if (native) log.push(native);
      failures.push(`${t}: ${(e as Error).message}`);
    }
    if (!adapter) {
      failures.push(`${t}: no adapter`);
      continue;
    }
    liveInstances.push(adapter);
    const runtime = await openDevice(adapter, t);
    engine = { backend: new WebGpuBackend(runtime), runtime, info: { ...runtime.info, ...(log.length ? { nativeLog: log.join('') } : {}) } };
    if (!noticeShown && !isTestedAdapter(engine.info)) {
      noticeShown = true;
      console.warn(untestedAdapterNotice(engine.info));
    }
    // The matmul row block, measured once per adapter and host on CPU adapters (matmul-tune.ts).
    setTuneStore(await platformTuneStore());
    await autotuneMatmul(runtime).catch(() => null);
    return engine.info;
  }
  // No adapter: what Dawn and the driver said explains why.
  const native = log.join('').trim();
  throw new NoAdapterError(`${SETUP_HINT} (tried ${failures.join('; ')})${native ? `\nDawn reported:\n${native}` : ''}`);
}

/** The adapter in use: vendor, architecture, description, backend, feature level, features and limits. */
export function deviceInfo(): DeviceInfo {
  const e = requireEngine();
  return e.runtime ? { ...e.info, quirks: e.runtime.quirks } : e.info;
}

function requireEngine(): Engine {
  if (!engine) throw new GpuError('dualalign-gpu is not initialized: call `await init()` first');
  return engine;
}

/** The default backend for new tensors. */
export function defaultBackend(): Backend {
  return requireEngine().backend;
}

/** The CPU reference backend (always available, also before init). */
export function cpuBackend(): Backend {
  return cpu;
}

/** The WebGPU runtime, or null on the CPU backend. */
export function gpuRuntime(): GpuRuntime | null {
  return engine?.runtime ?? null;
}

export function isInitialized(): boolean {
  return engine !== null;
}

/** Waits for all queued GPU work and surfaces any error it raised. */
export async function sync(): Promise<void> {
  await engine?.runtime?.sync();
}

/** Releases the device (tests and CLIs that want the process to exit promptly). */
export function shutdown(): void {
  engine?.runtime?.destroy();
  engine = null;
}
