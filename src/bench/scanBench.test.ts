import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestNodeDevice } from '../engine/webgpu/node';
import { runScanBench } from './scanBench';

let device: GPUDevice;
beforeAll(async () => {
  ({ device } = await requestNodeDevice(['timestamp-query']));
});
afterAll(() => device?.destroy());

/** Wraps the device so that it reports a lower maxStorageBufferBindingSize; every call still reaches Dawn. */
function withBindingLimit(real: GPUDevice, bytes: number): GPUDevice {
  const limits = new Proxy(real.limits, {
    get: (target, key) => (key === 'maxStorageBufferBindingSize' ? bytes : Reflect.get(target, key, target)),
  });
  return new Proxy(real, {
    get(target, key) {
      if (key === 'limits') return limits;
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Wraps the device so that buffers whose label contains `label` are created invalid, as after running out of memory. */
function withFailingBuffers(real: GPUDevice, label: string): GPUDevice {
  return new Proxy(real, {
    get(target, key) {
      if (key === 'createBuffer') {
        return (descriptor: GPUBufferDescriptor) => target.createBuffer(descriptor.label?.includes(label)
          // MAP_READ may not be combined with STORAGE, so Dawn reports a validation error and returns an invalid buffer.
          ? { ...descriptor, usage: descriptor.usage | GPUBufferUsage.MAP_READ }
          : descriptor);
      }
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('scan benchmark', () => {
  it('scan bench times every kernel', async () => {
    const points: number[] = [];
    const result = await runScanBench(device, 'test device', {
      lengths: [33, 7], dInner: 5, dState: 3, repeats: 2, onPoint: (p) => points.push(p.length),
    });
    expect(points).toEqual([33, 7]);
    expect(result.timing).toBe(device.features.has('timestamp-query') ? 'gpu-timestamps' : 'wall');
    expect(result.d_inner).toBe(5);
    expect(result.d_state).toBe(3);
    for (const point of result.points) {
      expect(point.skipped, `length ${point.length}`).toBeUndefined();
      expect(point.fused_fwd_ms).toBeGreaterThanOrEqual(0);
      expect(point.fused_fwd_bwd_ms).toBeGreaterThanOrEqual(0);
      expect(point.materializing_fwd_ms).toBeGreaterThanOrEqual(0);
      expect(point.materializing_fwd_bwd_ms).toBeGreaterThanOrEqual(0);
      expect(point.copy_ms).toBeGreaterThanOrEqual(0);
    }
    // Reads: u, Δ and z (3 · 33 · 5), B and C (2 · 33 · 3), the parameters (5 · 5).
    // Writes: out and y (2 · 33 · 5), one chunk state (5 · 3).
    expect(result.points[0].bytes).toBe(4 * (495 + 198 + 25 + 330 + 15));
  });

  it('scan bench skips oversized states', async () => {
    // The materializing scan's (l, d, n) tensors take 64 · 8 · 16 · 4 = 32 KiB, over the 16 KiB limit; the fused scan's buffers fit.
    const result = await runScanBench(withBindingLimit(device, 16384), 'limited', { lengths: [64], dInner: 8, dState: 16, repeats: 1 });
    const [point] = result.points;
    expect(point.materializing_fwd_ms).toBeNull();
    expect(point.materializing_fwd_bwd_ms).toBeNull();
    expect(point.skipped?.materializing_fwd).toMatch(/need 32768 bytes each, over this device's maxStorageBufferBindingSize of 16384/);
    expect(point.skipped?.materializing_fwd_bwd).toBe(point.skipped?.materializing_fwd);
    expect(point.fused_fwd_ms).not.toBeNull();
    expect(point.fused_fwd_bwd_ms).not.toBeNull();
    expect(point.copy_ms).not.toBeNull();
    expect(point.skipped?.fused_fwd).toBeUndefined();
  });

  it('scan bench skips kernels the device rejects', async () => {
    const result = await runScanBench(withFailingBuffers(device, 'materializing: bench decay'), 'failing', {
      lengths: [16], dInner: 4, dState: 2, repeats: 1,
    });
    const [point] = result.points;
    expect(point.materializing_fwd_ms).toBeNull();
    expect(point.materializing_fwd_bwd_ms).toBeNull();
    expect(point.skipped?.materializing_fwd).toMatch(/^the device reported an error: .*MapRead/);
    expect(point.fused_fwd_ms).not.toBeNull();
    expect(point.copy_ms).not.toBeNull();
  });
});
