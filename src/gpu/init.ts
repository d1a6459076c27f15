/**
 * init(): picks the backend the library uses from then on. In Node the GPU is Dawn (npm
 * `webgpu`): first its core adapter (Vulkan / Metal / D3D12), then its OpenGL ES adapter in
 * compatibility mode. In a browser it is navigator.gpu. 'cpu' selects the reference backend.
 */
import { GpuRuntime, type RuntimeInfo } from './runtime.js';
import { GpuError, NoAdapterError } from './errors.js';
import { nodeGpu, platformTuneStore } from './dawn.js';
import { autotuneMatmul, setTuneStore } from '../kernels/matmul-tune.js';
import { CpuBackend } from '../backend/cpu.js';
import { WebGpuBackend } from '../backend/webgpu.js';
import type { Backend } from '../backend/backend.js';

export type BackendChoice = 'webgpu' | 'webgpu-compat' | 'cpu';

export interface InitOptions {
  /** Force a backend; default: the DUALALIGN_BACKEND environment variable, else the best available. */
  backend?: BackendChoice;
  /** Pass 'low-power' or 'high-performance' to requestAdapter. */
  powerPreference?: GPUPowerPreference;
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
}

const SETUP_HINT =
  'No WebGPU adapter was found. On Debian/Ubuntu run `bash scripts/setup.sh` (it installs Mesa\'s software Vulkan driver, ' +
  'lavapipe, from bookworm-backports: libvulkan1 + mesa-vulkan-drivers >= 24, or the OpenGL ES fallback libegl1 libegl-mesa0 libegl-dev). ' +
  'Elsewhere install a Vulkan, Metal or D3D12 driver, or call init({ backend: "cpu" }).';

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

async function adapterFor(choice: 'webgpu' | 'webgpu-compat', powerPreference?: GPUPowerPreference): Promise<GPUAdapter | null> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) {
    return nav.gpu.requestAdapter({ powerPreference, ...(choice === 'webgpu-compat' ? { featureLevel: 'compatibility' } : {}) } as GPURequestAdapterOptions);
  }
  if (choice === 'webgpu-compat') {
    // Dawn's GLES backend renders without a display through EGL's surfaceless platform.
    if (typeof process !== 'undefined' && !process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = 'surfaceless';
    const gpu = await nodeGpu(['backend=opengles']);
    if (gpu) liveInstances.push(gpu);
    return gpu ? gpu.requestAdapter({ featureLevel: 'compatibility', powerPreference } as GPURequestAdapterOptions) : null;
  }
  const gpu = await nodeGpu([]);
  if (gpu) liveInstances.push(gpu);
  return gpu ? gpu.requestAdapter({ powerPreference }) : null;
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
  return new GpuRuntime(device, info);
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
  for (const t of tries) {
    let adapter: GPUAdapter | null = null;
    try {
      adapter = await adapterFor(t, options.powerPreference);
    } catch (e) {
      failures.push(`${t}: ${(e as Error).message}`);
    }
    if (!adapter) {
      failures.push(`${t}: no adapter`);
      continue;
    }
    liveInstances.push(adapter);
    const runtime = await openDevice(adapter, t);
    engine = { backend: new WebGpuBackend(runtime), runtime, info: { ...runtime.info } };
    // The matmul row block, measured once per adapter and host on CPU adapters (matmul-tune.ts).
    setTuneStore(await platformTuneStore());
    await autotuneMatmul(runtime).catch(() => null);
    return engine.info;
  }
  throw new NoAdapterError(`${SETUP_HINT} (tried ${failures.join('; ')})`);
}

/** The adapter in use: vendor, architecture, description, backend, feature level, features and limits. */
export function deviceInfo(): DeviceInfo {
  return requireEngine().info;
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
