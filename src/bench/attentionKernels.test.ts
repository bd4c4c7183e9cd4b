import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGpu, type GpuFixture } from '../engine/webgpu/testing';
import { benchAttentionKernels, planAttentionVariant } from './attentionKernels';

let gpu: GpuFixture;
beforeAll(async () => {
  gpu = await openGpu();
});
afterAll(() => gpu?.close());

describe('attention benchmark', () => {
  it('attention benchmark times both variants', async () => {
    const shape = { length: 9, nHead: 2, headDim: 4, batch: 1 };
    const result = await benchAttentionKernels(gpu.device, shape, { repeats: 2, warmup: 1 });

    // The device gets timestamp-query whenever its adapter offers it, as Dawn's SwiftShader adapter does.
    expect(result.method).toBe(gpu.device.features.has('timestamp-query') ? 'timestamp-query' : 'wall-clock');
    expect(result.repeats).toBe(2);
    for (const variant of [result.tiled, result.naive]) {
      expect(variant.skipped).toBeNull();
      expect(variant.timing?.forwardMs).toBeGreaterThan(0);
      expect(variant.timing?.forwardBackwardMs).toBeGreaterThan(0);
    }
    // Eight (1, 9, 2 · 4) tensors and lse (1, 2, 9), plus dDot (1, 2, 9) or probs (1, 2, 9, 9).
    expect(result.tiled.scratchBytes).toBe(2 * 9 * 4);
    expect(result.naive.scratchBytes).toBe(2 * 81 * 4);
    expect(result.tiled.bytes).toBe(8 * 72 * 4 + 18 * 4 + 18 * 4);
    expect(result.naive.bytes).toBe(8 * 72 * 4 + 18 * 4 + 162 * 4);
  });

  it('attention benchmark skips oversized probabilities', () => {
    const limits = { maxBufferSize: 1 << 30, maxStorageBufferBindingSize: 1 << 27 };
    const shape = { length: 4096, nHead: 4, headDim: 16, batch: 1 };
    const naive = planAttentionVariant(limits, 'naive', shape);
    expect(naive.skipped).toBe(
      `naive attention needs a ${4 * 4096 * 4096 * 4}-byte probs buffer, over this device's maxStorageBufferBindingSize of ${1 << 27}`,
    );
    expect(naive.scratchBytes).toBe(4 * 4096 * 4096 * 4);
    expect(planAttentionVariant(limits, 'tiled', shape).skipped).toBeNull();
  });

  it('attention benchmark skips without running', async () => {
    // q alone would be 2^20 · 64 · 128 · 4 bytes = 32 GiB.
    const shape = { length: 1 << 20, nHead: 64, headDim: 128, batch: 1 };
    const result = await benchAttentionKernels(gpu.device, shape);
    expect(result.tiled.timing).toBeNull();
    expect(result.tiled.skipped).toMatch(/^tiled attention needs a \d+-byte q buffer, over this device's/);
    expect(result.naive.timing).toBeNull();
    expect(result.naive.skipped).toMatch(/^naive attention needs a \d+-byte q buffer/);
  });

  it('attention benchmark rejects invalid shape', async () => {
    await expect(benchAttentionKernels(gpu.device, { length: 0, nHead: 1, headDim: 1, batch: 1 }))
      .rejects.toThrow('length = 0 is invalid: use a positive integer');
  });
});
