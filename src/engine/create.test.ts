import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../model/config';
import { buildLayout, initParams } from '../model/params';
import { createEngine, isSoftwareAdapter } from './create';
import { createNodeGpu } from './webgpu/node';

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
