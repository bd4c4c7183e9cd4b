import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fusedScanTokenGradFloats, fusedScanTokenGrads, type FusedScanGradTensors } from './fusedScan';
import * as materializing from './materializingScan';
import { expectScanGrads, makeScanCase, uploadScanCase, type ScanCase } from './scanTesting';
import { expectClose, openGpu, runAndRead, type GpuFixture } from './testing';

let gpu: GpuFixture;
beforeAll(async () => {
  gpu = await openGpu();
});
afterAll(() => gpu?.close());

/** Runs the materializing forward and backward passes and compares every output and gradient with the CPU reference. */
async function checkMaterializing(sc: ScanCase) {
  const { ctx } = gpu;
  const { b, l, d, n, rowStride } = sc.shape;
  const tokens = b * l * d;
  const { inputs, grads, dout, dXdbl } = uploadScanCase(ctx, sc);
  const buffers = materializing.allocateMaterializingScan(ctx, sc.shape, 'test');
  const out = ctx.createStorage('test: out', tokens);
  const tokenGrads = ctx.createStorage('test: token grads', fusedScanTokenGradFloats(sc.shape));
  const g: FusedScanGradTensors = {
    ...fusedScanTokenGrads(tokenGrads, sc.shape), dXdbl, A_log: grads.A_log, D: grads.D, deltaBias: grads.deltaBias,
  };
  const forward = await materializing.selectiveScanMaterializingForward(ctx, out, buffers, inputs, sc.shape);
  const backward = await materializing.selectiveScanMaterializingBackward(ctx, g, dout, buffers, inputs, sc.shape);

  // Backward leaves the states as the scan wrote them, so they are read after it.
  const got = await runAndRead(ctx, [...forward, ...backward], {
    out: [out, tokens], states: [buffers.states, tokens * n],
    tokenGrads: [tokenGrads, 3 * tokens], dXdbl: [dXdbl, b * l * rowStride], grads: [grads.buffer, sc.params.length],
  });
  expectClose('out', got.out, sc.want.out);
  expectClose('states', got.states, sc.want.states);
  expectScanGrads(sc, {
    du: got.tokenGrads.subarray(0, tokens), dDelta: got.tokenGrads.subarray(tokens, 2 * tokens), dz: got.tokenGrads.subarray(2 * tokens),
    dXdbl: got.dXdbl, grads: got.grads,
  });
}

describe('materializing selective scan', () => {
  it('materializing scan at length 1', async () => {
    await checkMaterializing(makeScanCase(80, 2, 1, 5, 16));
  });

  it('materializing scan with d_state 1', async () => {
    await checkMaterializing(makeScanCase(81, 3, 7, 6, 1));
  });

  it('materializing scan at length 1000', async () => {
    await checkMaterializing(makeScanCase(82, 1, 1000, 3, 64));
  });

  it('materializing scan over many channels', async () => {
    await checkMaterializing(makeScanCase(83, 2, 67, 70, 16));
  });

  it('materializing scan rejects ablations', async () => {
    const { ctx } = gpu;
    for (const [variant, message] of [
      [{ variableB: false }, /variableB = false/],
      [{ softplus: false }, /softplus = false/],
      [{ gate: 'identity' }, /SiLU\(z\) gate/],
    ] as const) {
      const sc = makeScanCase(84, 1, 3, 2, 2, variant);
      const { inputs } = uploadScanCase(ctx, sc);
      const buffers = materializing.allocateMaterializingScan(ctx, sc.shape, 'test');
      const out = ctx.createStorage('test: out', 6);
      await expect(materializing.selectiveScanMaterializingForward(ctx, out, buffers, inputs, sc.shape)).rejects.toThrow(message);
    }
  });

  it('materializing scan rejects oversized states', () => {
    const { ctx, device } = gpu;
    const l = Math.ceil(device.limits.maxStorageBufferBindingSize / (4 * 1024 * 16)) + 1;
    const before = ctx.allocatedBytes;
    expect(() => materializing.allocateMaterializingScan(ctx, { b: 1, l, d: 1024, n: 16 }, 'too large'))
      .toThrow(/maxStorageBufferBindingSize/);
    expect(ctx.allocatedBytes).toBe(before);
  });
});
