/**
 * Seeded inputs of one selective scan call, their CPU reference results from
 * src/model/ops.ts, and their upload, shared by the tests of the fused and the
 * materializing scan kernels.
 */
import { selectiveScanBackward, selectiveScanForward, type ScanDims, type ScanInputs } from '../../model/ops';
import { Rng } from '../../model/random';
import type { GpuContext } from './context';
import type { FusedScanTensors } from './fusedScan';
import type { ScanShape } from './kernels';
import { randomArray } from './testing';

/** Columns of Δ's low-rank part in front of B and C in each xdbl row. */
const DT_RANK = 2;

/** Host arrays of one scan call and what the CPU reference computes from them. */
export interface ScanCase {
  shape: ScanShape;
  u: Float32Array;
  deltaRaw: Float32Array;
  z: Float32Array;
  xdbl: Float32Array;
  dout: Float32Array;
  /** A_log, D and deltaBias at the offsets below, with unaligned gaps between them. */
  params: Float32Array;
  aLogOffset: number;
  dOffset: number;
  biasOffset: number;
  /** Random values that the parameter gradients accumulate onto. */
  gradsStart: Float32Array;
  want: {
    out: Float32Array;
    delta: Float32Array;
    /** Every h_t, (b, l, d, n). */
    states: Float32Array;
    du: Float32Array;
    dDelta: Float32Array;
    dz: Float32Array;
    /** (b, l, n) each. */
    dB: Float32Array;
    dC: Float32Array;
    /** gradsStart plus the gradients of A_log, D and deltaBias. */
    grads: Float32Array;
  };
}

/** Builds the inputs as the model initialises them, and runs the CPU reference forward and backward. */
export function makeScanCase(seed: number, b: number, l: number, d: number, n: number): ScanCase {
  const rng = new Rng(seed);
  const tokens = b * l * d;
  const rowStride = DT_RANK + 2 * n;

  // A_log ≈ log(1..n), and Δ's bias the inverse softplus of about 0.01 to 0.1.
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
  const out = new Float32Array(tokens);
  const delta = new Float32Array(tokens);
  const states = new Float32Array(tokens * n);
  selectiveScanForward(out, null, delta, states, inp, dims);
  const g = {
    du: new Float32Array(tokens), dDelta: new Float32Array(tokens), dA: new Float32Array(d * n),
    dB: new Float32Array(b * l * n), dC: new Float32Array(b * l * n), dD: new Float32Array(d),
    dz: new Float32Array(tokens), dDeltaBias: new Float32Array(d),
  };
  selectiveScanBackward(g, dout, inp, dims);
  const grads = gradsStart.slice();
  for (let j = 0; j < d * n; j++) grads[aLogOffset + j] += g.dA[j] * A[j];
  for (let c = 0; c < d; c++) {
    grads[dOffset + c] += g.dD[c];
    grads[biasOffset + c] += g.dDeltaBias[c];
  }

  return {
    shape: { b, l, d, n, rowStride, bColumn: DT_RANK, cColumn: DT_RANK + n },
    u, deltaRaw, z, xdbl, dout, params, aLogOffset, dOffset, biasOffset, gradsStart,
    want: { out, delta, states, du: g.du, dDelta: g.dDelta, dz: g.dz, dB: g.dB, dC: g.dC, grads },
  };
}

/** Uploads a case's inputs; the parameter and gradient buffers share the case's offsets. */
export function uploadScanCase(ctx: GpuContext, sc: ScanCase) {
  const paramsBuf = ctx.upload('test: params', sc.params);
  const gradsBuf = ctx.upload('test: grads', sc.gradsStart);
  const inputs: FusedScanTensors = {
    u: ctx.upload('test: u', sc.u),
    delta: ctx.upload('test: deltaRaw', sc.deltaRaw),
    xdbl: ctx.upload('test: xdbl', sc.xdbl),
    z: ctx.upload('test: z', sc.z),
    A_log: { buffer: paramsBuf, offset: sc.aLogOffset },
    D: { buffer: paramsBuf, offset: sc.dOffset },
    deltaBias: { buffer: paramsBuf, offset: sc.biasOffset },
  };
  const grads = {
    buffer: gradsBuf,
    A_log: { buffer: gradsBuf, offset: sc.aLogOffset },
    D: { buffer: gradsBuf, offset: sc.dOffset },
    deltaBias: { buffer: gradsBuf, offset: sc.biasOffset },
  };
  return { inputs, grads, dout: ctx.upload('test: dout', sc.dout) };
}

/** Splits (b, l, rowStride) rows of dXdbl into the (b, l, n) gradients of B and C. */
export function splitBC(sc: ScanCase, dXdbl: Float32Array): { dB: Float32Array; dC: Float32Array } {
  const { b, l, n, rowStride, bColumn, cColumn } = sc.shape;
  const dB = new Float32Array(b * l * n);
  const dC = new Float32Array(b * l * n);
  for (let r = 0; r < b * l; r++) {
    for (let s = 0; s < n; s++) {
      dB[r * n + s] = dXdbl[r * rowStride + bColumn + s];
      dC[r * n + s] = dXdbl[r * rowStride + cColumn + s];
    }
  }
  return { dB, dC };
}

/** Slices a gradient buffer read back into the parts that the scan adds to. */
export function paramGradParts(sc: ScanCase, grads: Float32Array) {
  const { d, n } = sc.shape;
  return {
    A_log: grads.subarray(sc.aLogOffset, sc.aLogOffset + d * n),
    D: grads.subarray(sc.dOffset, sc.dOffset + d),
    deltaBias: grads.subarray(sc.biasOffset, sc.biasOffset + d),
  };
}
