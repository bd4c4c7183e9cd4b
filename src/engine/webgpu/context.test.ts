import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GpuContext } from './context';
import { openGpu, type GpuFixture } from './testing';

let gpu: GpuFixture;
beforeAll(async () => {
  gpu = await openGpu();
});
afterAll(() => gpu?.close());

describe('GpuContext memory accounting', () => {
  it('live bytes follow create and destroy', () => {
    const ctx = new GpuContext(gpu.device);
    expect(ctx.liveBytes).toBe(0);
    const a = ctx.createStorage('test: a', 100);
    expect(ctx.liveBytes).toBe(400);
    // Sizes round up to a multiple of 4 bytes.
    const b = ctx.createBuffer('test: b', 5, GPUBufferUsage.STORAGE);
    expect(ctx.liveBytes).toBe(408);
    // A uniform of 5 fields pads to two 16-byte rows.
    ctx.uniform('test: u', [1, 2, 3, 4, 5]);
    expect(ctx.liveBytes).toBe(440);
    ctx.destroyBuffer(a);
    expect(ctx.liveBytes).toBe(40);
    ctx.destroyBuffer(b);
    expect(ctx.liveBytes).toBe(32);
    expect(ctx.allocatedBytes).toBe(32);
    ctx.destroy();
    expect(ctx.liveBytes).toBe(0);
  });

  it('peak keeps the largest total held', () => {
    const ctx = new GpuContext(gpu.device);
    const a = ctx.createStorage('test: a', 100);
    ctx.createStorage('test: b', 200);
    ctx.destroyBuffer(a);
    ctx.createStorage('test: c', 50);
    expect(ctx.liveBytes).toBe(1000);
    expect(ctx.peakBytes).toBe(1200);
    ctx.destroy();
    expect(ctx.peakBytes).toBe(1200);
  });

  it('resetPeak starts from live bytes', () => {
    const ctx = new GpuContext(gpu.device);
    const a = ctx.createStorage('test: a', 300);
    ctx.createStorage('test: b', 10);
    ctx.destroyBuffer(a);
    ctx.resetPeak();
    expect(ctx.peakBytes).toBe(40);
    ctx.createStorage('test: c', 20);
    expect(ctx.peakBytes).toBe(120);
    ctx.destroy();
    ctx.resetPeak();
    expect(ctx.peakBytes).toBe(0);
  });

  it('destroyBuffers keeps the pipelines', async () => {
    const ctx = new GpuContext(gpu.device);
    const kernel = await ctx.kernel('memory_copy');
    ctx.createStorage('test: a', 10);
    ctx.destroyBuffers();
    expect(ctx.liveBytes).toBe(0);
    expect(ctx.peakBytes).toBe(40);
    expect(await ctx.kernel('memory_copy')).toBe(kernel);
    ctx.destroy();
    expect(await ctx.kernel('memory_copy')).not.toBe(kernel);
  });

  it('destroying a foreign buffer changes nothing', () => {
    const ctx = new GpuContext(gpu.device);
    const other = new GpuContext(gpu.device);
    ctx.createStorage('test: own', 10);
    const foreign = other.createStorage('test: foreign', 25);
    ctx.destroyBuffer(foreign);
    expect(ctx.liveBytes).toBe(40);
    expect(other.liveBytes).toBe(100);
    // Destroying a buffer twice subtracts it once.
    other.destroyBuffer(foreign);
    other.destroyBuffer(foreign);
    expect(other.liveBytes).toBe(0);
    ctx.destroy();
    other.destroy();
  });
});
