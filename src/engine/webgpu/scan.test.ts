import { afterAll, beforeAll, describe, it } from 'vitest';
import { selectiveScanBackward, selectiveScanForward, type ScanDims, type ScanInputs } from '../../model/ops';
import { Rng } from '../../model/random';
import * as gpuOps from './kernels';
import { expectClose, openGpu, randomArray, runAndRead, type GpuFixture } from './testing';

let gpu: GpuFixture;
beforeAll(async () => {
  gpu = await openGpu();
});
afterAll(() => gpu?.close());

/** Columns of Δ's low-rank part in front of B and C in each xdbl row. */
const DT_RANK = 2;

/**
 * Runs scan + gate forward and backward on the GPU and compares every output and
 * gradient with selectiveScanForward/Backward of ops.ts, which fold the gate in.
 */
async function checkScan(seed: number, b: number, l: number, d: number, n: number) {
  const { ctx } = gpu;
  const rng = new Rng(seed);
  const tokens = b * l * d;
  const rowStride = DT_RANK + 2 * n;

  // Parameters as in the model: A_log ≈ log(1..n), Δ's bias the inverse softplus of about 0.01 to 0.1.
  const aLog = new Float32Array(d * n);
  for (let c = 0; c < d; c++) for (let s = 0; s < n; s++) aLog[c * n + s] = Math.log(s + 1) + 0.1 * (2 * rng.uniform() - 1);
  const D = randomArray(rng, d);
  const deltaBias = new Float32Array(d);
  for (let c = 0; c < d; c++) deltaBias[c] = -4.5 + 2.5 * rng.uniform();
  const u = randomArray(rng, tokens);
  const deltaRaw = randomArray(rng, tokens);
  const z = randomArray(rng, tokens, 2);
  const xdbl = randomArray(rng, b * l * rowStride);
  const dout = randomArray(rng, tokens);

  // One parameter buffer and one gradient buffer, with unaligned offsets and random gradients to accumulate onto.
  const aLogOffset = 1;
  const dOffset = aLogOffset + d * n + 2;
  const biasOffset = dOffset + d + 1;
  const params = new Float32Array(biasOffset + d);
  params.set(aLog, aLogOffset);
  params.set(D, dOffset);
  params.set(deltaBias, biasOffset);
  const gradsStart = randomArray(rng, params.length, 0.1);

  const A = aLog.map((v) => -Math.exp(v));
  const Bm = new Float32Array(b * l * n);
  const Cm = new Float32Array(b * l * n);
  for (let r = 0; r < b * l; r++) {
    for (let s = 0; s < n; s++) {
      Bm[r * n + s] = xdbl[r * rowStride + DT_RANK + s];
      Cm[r * n + s] = xdbl[r * rowStride + DT_RANK + n + s];
    }
  }
  const inp: ScanInputs = { u, delta: deltaRaw, A, B: Bm, C: Cm, D, z, deltaBias };
  const dims: ScanDims = { b, l, d, n, variableB: true, variableC: true, softplus: true };
  const wantOut = new Float32Array(tokens);
  const wantDelta = new Float32Array(tokens);
  const wantStates = new Float32Array(tokens * n);
  selectiveScanForward(wantOut, null, wantDelta, wantStates, inp, dims);
  const want = {
    du: new Float32Array(tokens), dDelta: new Float32Array(tokens), dA: new Float32Array(d * n),
    dB: new Float32Array(b * l * n), dC: new Float32Array(b * l * n), dD: new Float32Array(d),
    dz: new Float32Array(tokens), dDeltaBias: new Float32Array(d),
  };
  selectiveScanBackward(want, dout, inp, dims);
  const wantGrads = gradsStart.slice();
  for (let j = 0; j < d * n; j++) wantGrads[aLogOffset + j] += want.dA[j] * A[j];
  for (let c = 0; c < d; c++) {
    wantGrads[dOffset + c] += want.dD[c];
    wantGrads[biasOffset + c] += want.dDeltaBias[c];
  }

  const paramsBuf = ctx.upload('test: params', params);
  const gradsBuf = ctx.upload('test: grads', gradsStart);
  const tensors: gpuOps.ScanTensors = {
    u: ctx.upload('test: u', u), delta: ctx.upload('test: deltaRaw', deltaRaw), xdbl: ctx.upload('test: xdbl', xdbl),
    A_log: { buffer: paramsBuf, offset: aLogOffset }, D: { buffer: paramsBuf, offset: dOffset },
    deltaBias: { buffer: paramsBuf, offset: biasOffset },
  };
  const shape: gpuOps.ScanShape = { b, l, d, n, rowStride, bColumn: DT_RANK, cColumn: DT_RANK + n };
  const zBuf = ctx.upload('test: z', z);
  const yPre = ctx.createStorage('test: y before gate', tokens);
  const out = ctx.createStorage('test: out', tokens);
  const delta = ctx.createStorage('test: delta', tokens);
  const states = ctx.createStorage('test: states', tokens * n);
  const doutBuf = ctx.upload('test: dout', dout);
  const dy = ctx.createStorage('test: dy', tokens);
  const dz = ctx.createStorage('test: dz', tokens);
  const g: gpuOps.ScanGradTensors = {
    du: ctx.createStorage('test: du', tokens), dDelta: ctx.createStorage('test: dDelta', tokens),
    dXdbl: ctx.upload('test: dXdbl', randomArray(rng, b * l * rowStride)), dALogPartial: ctx.createStorage('test: dA_log partial', b * d * n),
  };

  const commands = [
    await gpuOps.selectiveScanForward(ctx, yPre, delta, states, tensors, shape),
    await gpuOps.siluGateForward(ctx, out, yPre, zBuf, tokens),
    await gpuOps.siluGateBackward(ctx, dy, dz, doutBuf, yPre, zBuf, tokens),
    ...(await gpuOps.selectiveScanBackward(ctx, g, dy, states, tensors, shape)),
    await gpuOps.reduceRows(ctx, { buffer: gradsBuf, offset: aLogOffset }, g.dALogPartial, null, b, d * n),
    await gpuOps.reduceRows(ctx, { buffer: gradsBuf, offset: dOffset }, dy, tensors.u, b * l, d),
    await gpuOps.reduceRows(ctx, { buffer: gradsBuf, offset: biasOffset }, g.dDelta, null, b * l, d),
  ];
  const got = await runAndRead(ctx, commands, {
    out: [out, tokens], delta: [delta, tokens], states: [states, tokens * n], dz: [dz, tokens], du: [g.du, tokens],
    dDelta: [g.dDelta, tokens], dXdbl: [g.dXdbl, b * l * rowStride], grads: [gradsBuf, params.length],
  });
  const gotB = new Float32Array(b * l * n);
  const gotC = new Float32Array(b * l * n);
  for (let r = 0; r < b * l; r++) {
    for (let s = 0; s < n; s++) {
      gotB[r * n + s] = got.dXdbl[r * rowStride + DT_RANK + s];
      gotC[r * n + s] = got.dXdbl[r * rowStride + DT_RANK + n + s];
    }
  }

  expectClose('out', got.out, wantOut);
  expectClose('delta', got.delta, wantDelta);
  expectClose('states', got.states, wantStates);
  expectClose('dz', got.dz, want.dz);
  expectClose('du', got.du, want.du);
  expectClose('dDelta', got.dDelta, want.dDelta);
  expectClose('dB', gotB, want.dB);
  expectClose('dC', gotC, want.dC);
  expectClose('dA_log', got.grads.subarray(aLogOffset, aLogOffset + d * n), wantGrads.subarray(aLogOffset, aLogOffset + d * n));
  expectClose('dD', got.grads.subarray(dOffset, dOffset + d), wantGrads.subarray(dOffset, dOffset + d));
  expectClose('dDeltaBias', got.grads.subarray(biasOffset, biasOffset + d), wantGrads.subarray(biasOffset, biasOffset + d));
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
