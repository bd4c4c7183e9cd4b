import type { ResolvedConfig, TrainConfig } from '../model/config';
import type { EnginePreference } from '../protocol';
import { CpuEngine } from './cpu';
import type { Engine } from './types';

export interface CreateEngineOptions {
  preference: EnginePreference;
  /** navigator.gpu in a browser or worker, or the GPU object of the `webgpu` package under Node; undefined when absent. */
  gpu: GPU | undefined;
  /** Receives device loss and uncaptured GPU errors after creation. */
  onDeviceError?: (message: string) => void;
}

/** Raised when WebGPU was requested explicitly and cannot be used. */
export class WebGpuUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(`WebGPU engine unavailable: ${reason}. Choose the CPU engine, or run where WebGPU works: Chrome or Edge 113+, or Node with a Vulkan driver.`);
    this.name = 'WebGpuUnavailableError';
  }
}

export interface CreatedEngine {
  engine: Engine;
  /** Why the CPU engine runs instead of WebGPU; null when WebGPU is in use or CPU was chosen. */
  fallbackReason: string | null;
}

/** Human-readable adapter name, from GPUAdapterInfo's description, else vendor and architecture. */
export function describeAdapter(info: GPUAdapterInfo | undefined): string {
  if (!info) return 'unknown adapter';
  const parts = [info.description, [info.vendor, info.architecture].filter(Boolean).join(' ')].filter((s) => s && s.trim());
  return parts[0]?.trim() || 'unknown adapter';
}

/**
 * Requests an adapter and a device with the limits the kernels need, and any
 * extra features (the profiler requests 'timestamp-query'); returns a reason
 * string on failure.
 */
export async function requestDevice(
  gpu: GPU | undefined, requiredFeatures: GPUFeatureName[] = [],
): Promise<{ device: GPUDevice; adapterName: string } | { reason: string }> {
  if (!gpu) return { reason: 'this browser does not expose WebGPU (navigator.gpu is missing)' };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    return { reason: `requesting a WebGPU adapter failed: ${(err as Error).message}` };
  }
  if (!adapter) return { reason: 'no WebGPU adapter was found (the GPU may be blocklisted or disabled)' };

  const want: (keyof GPUSupportedLimits)[] = [
    'maxStorageBuffersPerShaderStage', 'maxStorageBufferBindingSize', 'maxBufferSize',
    'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX',
  ];
  const requiredLimits: Record<string, number> = {};
  for (const key of want) requiredLimits[key] = adapter.limits[key] as number;
  const missing = requiredFeatures.filter((feature) => !adapter.features.has(feature));
  if (missing.length > 0) return { reason: `the WebGPU adapter lacks the ${missing.join(', ')} feature` };
  try {
    const device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'mamba-playground' });
    return { device, adapterName: describeAdapter(adapter.info) };
  } catch (err) {
    return { reason: `requesting a WebGPU device failed: ${(err as Error).message}` };
  }
}

/**
 * Creates the engine for a run. With preference 'auto' a WebGPU failure falls back
 * to the CPU engine and the reason is returned; with 'webgpu' it throws
 * WebGpuUnavailableError.
 */
export async function createEngine(
  config: ResolvedConfig, train: TrainConfig, params: Float32Array, options: CreateEngineOptions,
): Promise<CreatedEngine> {
  if (options.preference === 'cpu') return { engine: new CpuEngine(config, train, params), fallbackReason: null };

  const result = await requestDevice(options.gpu);
  if ('reason' in result) {
    if (options.preference === 'webgpu') throw new WebGpuUnavailableError(result.reason);
    return { engine: new CpuEngine(config, train, params, 'CPU'), fallbackReason: result.reason };
  }
  // Loaded on demand, so a CPU-only run never parses the WebGPU engine.
  const { WebGpuEngine } = await import('./webgpu/engine');
  const engine = await WebGpuEngine.create(result.device, result.adapterName, config, train, params, options.onDeviceError);
  return { engine, fallbackReason: null };
}
