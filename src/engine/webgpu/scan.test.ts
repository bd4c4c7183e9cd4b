import { afterAll, beforeAll, describe, it } from 'vitest';
import { Rng } from '../../model/random';
import * as gpuOps from './kernels';
import { makeScanCase, paramGradParts, splitBC } from './scanTesting';
import { expectClose, openGpu, randomArray, runAndRead, type GpuFixture } from './testing';

let gpu: GpuFixture;
beforeAll(async () => {
  gpu = await openGpu();
});
afterAll(() => gpu?.close());

/**
 * Runs scan + gate forward and backward on the GPU and compares every output and
 * gradient with selectiveScanForward/Backward of ops.ts, which fold the gate in.
 */
async function checkScan(seed: number, b: number, l: number, d: number, n: number) {
  const { ctx } = gpu;
  const sc = makeScanCase(seed, b, l, d, n);
  const { shape, want } = sc;
  const tokens = b * l * d;

  const paramsBuf = ctx.upload('test: params', sc.params);
  const gradsBuf = ctx.upload('test: grads', sc.gradsStart);
  const tensors: gpuOps.ScanTensors = {
    u: ctx.upload('test: u', sc.u), delta: ctx.upload('test: deltaRaw', sc.deltaRaw), xdbl: ctx.upload('test: xdbl', sc.xdbl),
    A_log: { buffer: paramsBuf, offset: sc.aLogOffset }, D: { buffer: paramsBuf, offset: sc.dOffset },
    deltaBias: { buffer: paramsBuf, offset: sc.biasOffset },
  };
  const zBuf = ctx.upload('test: z', sc.z);
  const yPre = ctx.createStorage('test: y before gate', tokens);
  const out = ctx.createStorage('test: out', tokens);
  const delta = ctx.createStorage('test: delta', tokens);
  const states = ctx.createStorage('test: states', tokens * n);
  const doutBuf = ctx.upload('test: dout', sc.dout);
  const dy = ctx.createStorage('test: dy', tokens);
  const dz = ctx.createStorage('test: dz', tokens);
  // dXdbl starts random, so a kernel that leaves B's or C's columns unwritten fails.
  const g: gpuOps.ScanGradTensors = {
    du: ctx.createStorage('test: du', tokens), dDelta: ctx.createStorage('test: dDelta', tokens),
    dXdbl: ctx.upload('test: dXdbl', randomArray(new Rng(seed + 1), b * l * shape.rowStride)),
    dALogPartial: ctx.createStorage('test: dA_log partial', b * d * n),
  };

  const commands = [
    await gpuOps.selectiveScanForward(ctx, yPre, delta, states, tensors, shape),
    await gpuOps.siluGateForward(ctx, out, yPre, zBuf, tokens),
    await gpuOps.siluGateBackward(ctx, dy, dz, doutBuf, yPre, zBuf, tokens),
    ...(await gpuOps.selectiveScanBackward(ctx, g, dy, states, tensors, shape)),
    await gpuOps.reduceRows(ctx, { buffer: gradsBuf, offset: sc.aLogOffset }, g.dALogPartial, null, b, d * n),
    await gpuOps.reduceRows(ctx, { buffer: gradsBuf, offset: sc.dOffset }, dy, tensors.u, b * l, d),
    await gpuOps.reduceRows(ctx, { buffer: gradsBuf, offset: sc.biasOffset }, g.dDelta, null, b * l, d),
  ];
  const got = await runAndRead(ctx, commands, {
    out: [out, tokens], delta: [delta, tokens], states: [states, tokens * n], dz: [dz, tokens], du: [g.du, tokens],
    dDelta: [g.dDelta, tokens], dXdbl: [g.dXdbl, b * l * shape.rowStride], grads: [gradsBuf, sc.params.length],
  });
  const gotBC = splitBC(sc, got.dXdbl);
  const gotParams = paramGradParts(sc, got.grads);
  const wantParams = paramGradParts(sc, want.grads);

  expectClose('out', got.out, want.out);
  expectClose('delta', got.delta, want.delta);
  expectClose('states', got.states, want.states);
  expectClose('dz', got.dz, want.dz);
  expectClose('du', got.du, want.du);
  expectClose('dDelta', got.dDelta, want.dDelta);
  expectClose('dB', gotBC.dB, want.dB);
  expectClose('dC', gotBC.dC, want.dC);
  expectClose('dA_log', gotParams.A_log, wantParams.A_log);
  expectClose('dD', gotParams.D, wantParams.D);
  expectClose('dDeltaBias', gotParams.deltaBias, wantParams.deltaBias);
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
});
