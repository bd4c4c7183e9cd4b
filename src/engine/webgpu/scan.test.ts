import { afterAll, beforeAll, describe, it } from 'vitest';
import * as gpuOps from './kernels';
import { expectScanGrads, makeScanCase, SCAN_VARIANTS, uploadScanCase, type ScanVariant } from './scanTesting';
import { expectClose, openGpu, runAndRead, type GpuFixture } from './testing';

let gpu: GpuFixture;
beforeAll(async () => {
  gpu = await openGpu();
});
afterAll(() => gpu?.close());

/**
 * Runs scan + gate forward and backward on the GPU and compares every output and
 * gradient with selectiveScanForward/Backward of ops.ts, which fold the gate in.
 */
async function checkScan(seed: number, b: number, l: number, d: number, n: number, variant: ScanVariant = {}) {
  const { ctx } = gpu;
  const sc = makeScanCase(seed, b, l, d, n, variant);
  const { shape, want } = sc;
  const tokens = b * l * d;
  const block = b * d * n;

  const { inputs, grads, dout, dXdbl } = uploadScanCase(ctx, sc);
  const yPre = ctx.createStorage('test: y before gate', tokens);
  const out = ctx.createStorage('test: out', tokens);
  const delta = ctx.createStorage('test: delta', tokens);
  const states = ctx.createStorage('test: states', tokens * n);
  const dy = ctx.createStorage('test: dy', tokens);
  const dz = ctx.createStorage('test: dz', tokens);
  const g: gpuOps.ScanGradTensors = {
    du: ctx.createStorage('test: du', tokens), dDelta: ctx.createStorage('test: dDelta', tokens), dXdbl,
    paramPartial: ctx.createStorage('test: parameter partials', gpuOps.scanParamPartialFloats(shape)),
    dBTerms: ctx.createStorage('test: dB terms', tokens * n),
  };

  // Without a gate the scan's output and its gradient are the layer's own.
  const z = inputs.z;
  const commands = [
    await gpuOps.selectiveScanForward(ctx, z ? yPre : out, delta, states, inputs, shape),
    ...(z ? [
      await gpuOps.siluGateForward(ctx, out, yPre, z, tokens, inputs.gate),
      await gpuOps.siluGateBackward(ctx, dy, dz, dout, yPre, z, tokens, inputs.gate),
    ] : []),
    ...(await gpuOps.selectiveScanBackward(ctx, g, z ? dy : dout, states, delta, inputs, shape)),
    await gpuOps.reduceRows(ctx, grads.A_log, g.paramPartial, null, b, d * n),
    ...(grads.B ? [await gpuOps.reduceRows(ctx, grads.B, { buffer: g.paramPartial, offset: block }, null, b, d * n)] : []),
    ...(grads.C ? [await gpuOps.reduceRows(ctx, grads.C, { buffer: g.paramPartial, offset: 2 * block }, null, b, d * n)] : []),
    await gpuOps.reduceRows(ctx, grads.D, z ? dy : dout, inputs.u, b * l, d),
    await gpuOps.reduceRows(ctx, grads.deltaBias, g.dDelta, null, b * l, d),
  ];
  const got = await runAndRead(ctx, commands, {
    out: [out, tokens], delta: [delta, tokens], states: [states, tokens * n], dz: [dz, tokens], du: [g.du, tokens],
    dDelta: [g.dDelta, tokens], dXdbl: [g.dXdbl, b * l * shape.rowStride], grads: [grads.buffer, sc.params.length],
  });

  expectClose('out', got.out, want.out);
  expectClose('delta', got.delta, want.delta);
  expectClose('states', got.states, want.states);
  expectScanGrads(sc, { du: got.du, dDelta: got.dDelta, dz: got.dz, dXdbl: got.dXdbl, grads: got.grads });
}

describe('selective scan kernels', () => {
  it('scan on odd sizes', async () => {
    await checkScan(41, 2, 7, 5, 3);
  });

  it('scan at length 1', async () => {
    await checkScan(42, 2, 1, 3, 4);
  });

  it('scan with d_state 1', async () => {
    await checkScan(43, 3, 6, 2, 1);
  });

  it('scan at maximum d_state', async () => {
    await checkScan(44, 1, 4, 2, 64);
  });

  it('scan over many channels', async () => {
    await checkScan(45, 2, 9, 67, 4);
  });

  for (const [name, variant] of SCAN_VARIANTS) {
    it(`scan with ${name}`, async () => {
      await checkScan(46, 2, 7, 5, 3, variant);
    });
  }
});
