import type { ResolvedModelConfig, TrainConfig } from '../model/config';
import type { EnginePreference } from '../protocol';
import { CpuEngine } from './cpu';
import type { Engine } from './types';
import type { ScanKind } from './webgpu/graph';

export interface CreateEngineOptions {
  preference: EnginePreference;
  /** navigator.gpu in a browser or worker, or the GPU object of the `webgpu` package under Node; undefined when absent. */
  gpu: GPU | undefined;
  /** Receives device loss and uncaptured GPU errors after creation. */
  onDeviceError?: (message: string) => void;
  /** Scan kernels of the WebGPU engine's training step for Mamba; defaultScanKind's choice when omitted. */
  scan?: ScanKind;
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
  /** Reason the CPU engine runs instead of WebGPU; null when WebGPU is in use or CPU was chosen. */
  fallbackReason: string | null;
}

/** Human-readable adapter name, from GPUAdapterInfo's description, else vendor and architecture. */
export function describeAdapter(info: GPUAdapterInfo | undefined): string {
  if (!info) return 'unknown adapter';
  const parts = [info.description, [info.vendor, info.architecture].filter(Boolean).join(' ')].filter((s) => s && s.trim());
  return parts[0]?.trim() || 'unknown adapter';
}

/**
 * True for an adapter that runs WebGPU on the CPU (SwiftShader, llvmpipe, WARP),
 * which trains these small models more slowly than the CPU engine does.
 */
export function isSoftwareAdapter(info: GPUAdapterInfo | undefined): boolean {
  if (!info) return false;
  if ((info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter) return true;
  const text = [info.vendor, info.architecture, info.device, info.description].join(' ');
  return /swiftshader|llvmpipe|lavapipe|software|microsoft basic render|\bwarp\b/i.test(text);
}

/**
 * Requests an adapter and a device with the limits the kernels need. The device
 * also gets each of optionalFeatures that the adapter offers. On failure it
 * returns a reason string instead.
 */
export async function requestDevice(
  gpu: GPU | undefined, optionalFeatures: readonly GPUFeatureName[] = [],
): Promise<{ device: GPUDevice; adapterName: string; software: boolean } | { reason: string }> {
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
  const requiredFeatures = optionalFeatures.filter((feature) => adapter.features.has(feature));
  try {
    const device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'mamba-playground' });
    return { device, adapterName: describeAdapter(adapter.info), software: isSoftwareAdapter(adapter.info) };
  } catch (err) {
    return { reason: `requesting a WebGPU device failed: ${(err as Error).message}` };
  }
}

/**
 * Picks the scan for training: the simple scan on a software adapter, whose
 * workgroup barriers made the fused scan's training step several times slower
 * on SwiftShader (docs/BENCHMARKS.md), and the fused scan on a hardware GPU.
 * NOTE: the fused scan has not been timed on a hardware GPU.
 */
export function defaultScanKind(software: boolean): ScanKind {
  return software ? 'simple' : 'fused';
}

/**
 * Creates the engine for a run. With preference 'auto', a WebGPU failure or a
 * software adapter falls back to the CPU engine and returns the reason. With
 * 'webgpu', a failure throws WebGpuUnavailableError and a software adapter is used.
 */
export async function createEngine(
  config: ResolvedModelConfig, train: TrainConfig, params: Float32Array, options: CreateEngineOptions,
): Promise<CreatedEngine> {
  if (options.preference === 'cpu') return { engine: new CpuEngine(config, train, params), fallbackReason: null };

  const result = await requestDevice(options.gpu);
  if ('reason' in result) {
    if (options.preference === 'webgpu') throw new WebGpuUnavailableError(result.reason);
    return { engine: new CpuEngine(config, train, params, 'CPU'), fallbackReason: result.reason };
  }
  if (options.preference === 'auto' && result.software) {
    result.device.destroy();
    const reason =
      `the only WebGPU adapter is a software implementation (${result.adapterName}), which is slower here than the CPU engine: ` +
      'choose WebGPU explicitly to use it anyway';
    return { engine: new CpuEngine(config, train, params, 'CPU'), fallbackReason: reason };
  }
  // The engines are loaded on demand, so a CPU-only run never parses them.
  if (config.architecture === 'transformer') {
    const { WebGpuTransformerEngine } = await import('./webgpu/transformerEngine');
    const engine = await WebGpuTransformerEngine.create(result.device, result.adapterName, config, train, params, options.onDeviceError);
    return { engine, fallbackReason: null };
  }
  const { WebGpuEngine } = await import('./webgpu/engine');
  const engine = await WebGpuEngine.create(result.device, result.adapterName, config, train, params, options.onDeviceError, {
    scan: options.scan ?? defaultScanKind(result.software),
  });
  return { engine, fallbackReason: null };
}
