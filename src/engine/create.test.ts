import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../model/config';
import { buildLayout, initParams } from '../model/params';
import { buildTransformerLayout, initTransformerParams, resolveTransformerConfig } from '../model/transformer';
import { CpuEngine } from './cpu';
import { createEngine, isSoftwareAdapter, WebGpuUnavailableError } from './create';
import { WebGpuEngine } from './webgpu/engine';
import { createNodeGpu } from './webgpu/node';
import { WebGpuTransformerEngine } from './webgpu/transformerEngine';

const info = (fields: Partial<GPUAdapterInfo>) => ({ vendor: '', architecture: '', device: '', description: '', ...fields }) as GPUAdapterInfo;

describe('isSoftwareAdapter', () => {
  it('recognises CPU implementations', () => {
    expect(isSoftwareAdapter(info({ vendor: 'google', architecture: 'swiftshader' }))).toBe(true);
    expect(isSoftwareAdapter(info({ description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }))).toBe(true);
    expect(isSoftwareAdapter(info({ description: 'Microsoft Basic Render Driver' }))).toBe(true);
    expect(isSoftwareAdapter(info({ isFallbackAdapter: true } as Partial<GPUAdapterInfo>))).toBe(true);
  });

  it('accepts hardware adapters', () => {
    expect(isSoftwareAdapter(info({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' }))).toBe(false);
    expect(isSoftwareAdapter(info({ vendor: 'apple', architecture: 'metal-3' }))).toBe(false);
    expect(isSoftwareAdapter(undefined)).toBe(false);
  });
});

describe('createEngine', () => {
  const cfg = resolveConfig({ vocab_size: 6, d_model: 8, n_layer: 1, d_state: 4, expand: 2, d_conv: 4, dt_rank: 'auto' });
  const train = { learning_rate: 0.01, batch_size: 2, seq_len: 5, seed: 1, weight_decay: 0, grad_clip: 1 };
  const params = initParams(cfg, buildLayout(cfg), 1);

  it('auto passes over a software adapter', async () => {
    const created = await createEngine(cfg, train, params, { preference: 'auto', gpu: await createNodeGpu() });
    expect(created.engine.kind).toBe('cpu');
    expect(created.fallbackReason).toMatch(/software implementation \(.*SwiftShader.*\).*choose WebGPU explicitly/i);
    created.engine.dispose();
  });

  it('webgpu uses a software adapter when chosen', async () => {
    const created = await createEngine(cfg, train, params, { preference: 'webgpu', gpu: await createNodeGpu() });
    expect(created.engine.kind).toBe('webgpu');
    expect(created.fallbackReason).toBeNull();
    created.engine.dispose();
  });
});

/**
 * Wraps Dawn's GPU so that its adapter reports a hardware GPU, as a browser on a
 * machine with a GPU would. The device it creates is still SwiftShader's.
 */
function withHardwareAdapterInfo(gpu: GPU): GPU {
  const info = { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200' } as GPUAdapterInfo;
  return {
    requestAdapter: async (options?: GPURequestAdapterOptions) => {
      const adapter = await gpu.requestAdapter(options);
      if (!adapter) return null;
      return new Proxy(adapter, {
        get: (target, key) => {
          if (key === 'info') return info;
          const value = Reflect.get(target, key, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    },
  } as GPU;
}

describe('createEngine for a Transformer', () => {
  const cfg = resolveTransformerConfig({
    architecture: 'transformer', vocab_size: 6, d_model: 8, n_layer: 1, n_head: 2, d_ff: 'auto', positions: 'rope', max_len: 8,
  });
  const train = { learning_rate: 0.01, batch_size: 2, seq_len: 5, seed: 1, weight_decay: 0, grad_clip: 1 };
  const params = initTransformerParams(cfg, buildTransformerLayout(cfg), 1);

  it('auto passes over a software adapter', async () => {
    const created = await createEngine(cfg, train, params, { preference: 'auto', gpu: await createNodeGpu() });
    expect(created.engine).toBeInstanceOf(CpuEngine);
    expect(created.fallbackReason).toMatch(/software implementation \(.*SwiftShader.*\).*choose WebGPU explicitly/i);
    created.engine.dispose();
  });

  it('auto uses a hardware adapter', async () => {
    const created = await createEngine(cfg, train, params, { preference: 'auto', gpu: withHardwareAdapterInfo(await createNodeGpu()) });
    expect(created.engine).toBeInstanceOf(WebGpuTransformerEngine);
    expect(created.engine.description).toBe('WebGPU (NVIDIA H200)');
    expect(created.fallbackReason).toBeNull();
    created.engine.dispose();
  });

  it('webgpu uses a software adapter when chosen', async () => {
    const created = await createEngine(cfg, train, params, { preference: 'webgpu', gpu: await createNodeGpu() });
    expect(created.engine).toBeInstanceOf(WebGpuTransformerEngine);
    expect(created.engine.kind).toBe('webgpu');
    expect(created.fallbackReason).toBeNull();
    created.engine.dispose();
  });

  it('cpu uses the CPU engine', async () => {
    const created = await createEngine(cfg, train, params, { preference: 'cpu', gpu: await createNodeGpu() });
    expect(created.engine).toBeInstanceOf(CpuEngine);
    expect(created.fallbackReason).toBeNull();
    created.engine.dispose();
  });

  it('webgpu without WebGPU raises', async () => {
    await expect(createEngine(cfg, train, params, { preference: 'webgpu', gpu: undefined })).rejects.toThrow(WebGpuUnavailableError);
  });

  it('webgpu rejects max_len below seq_len', async () => {
    const absolute = { ...cfg, positions: 'absolute' as const, max_len: 4 };
    const absoluteParams = initTransformerParams(absolute, buildTransformerLayout(absolute), 1);
    await expect(createEngine(absolute, train, absoluteParams, { preference: 'webgpu', gpu: await createNodeGpu() }))
      .rejects.toThrow(/max_len = 4 is shorter than seq_len = 5/);
  });

  it('mamba on a hardware adapter stays on WebGpuEngine', async () => {
    const mamba = resolveConfig({ vocab_size: 6, d_model: 8, n_layer: 1, d_state: 4, expand: 2, d_conv: 4, dt_rank: 'auto' });
    const mambaParams = initParams(mamba, buildLayout(mamba), 1);
    const created = await createEngine(mamba, train, mambaParams, { preference: 'auto', gpu: withHardwareAdapterInfo(await createNodeGpu()) });
    expect(created.engine).toBeInstanceOf(WebGpuEngine);
    created.engine.dispose();
  });
});
