/**
 * Seeded inputs of one selective scan call, their CPU reference results from
 * src/model/ops.ts, and their upload, shared by the tests of the simple, fused
 * and materializing scan kernels. A variant fixes Δ, B or C, drops softplus or
 * changes the gate, as the model's ablations do.
 */
import type { Activation } from '../../model/ops';
import { selectiveScanBackward, selectiveScanForward, type ScanDims, type ScanInputs } from '../../model/ops';
import { Rng } from '../../model/random';
import type { GpuContext, Tensor } from './context';
import type { FusedScanTensors } from './fusedScan';
import type { ScanShape } from './kernels';
import { expectClose, randomArray } from './testing';

/** Columns of Δ's low-rank part in front of B and C in each xdbl row. */
const DT_RANK = 2;

/** The ablation switches of one scan call; every field defaults to the Mamba scan. */
export interface ScanVariant {
  variableDelta?: boolean;
  variableB?: boolean;
  variableC?: boolean;
  softplus?: boolean;
  /** Activation of the gate z; 'none' runs the scan without z. */
  gate?: Activation | 'none';
}

/** The model's ablations of the scan, and combinations that take other paths in the kernels. */
export const SCAN_VARIANTS: [string, ScanVariant][] = [
  ['fixed Δ', { variableDelta: false }],
  ['fixed B', { variableB: false }],
  ['fixed C', { variableC: false }],
  ['LTI B, C and Δ', { variableDelta: false, variableB: false, variableC: false }],
  ['no softplus', { softplus: false }],
  ['product gate', { gate: 'identity' }],
  ['no gate', { gate: 'none', variableC: false, softplus: false }],
];

/** Host arrays of one scan call and what the CPU reference computes from them. */
export interface ScanCase {
  shape: ScanShape;
  variant: Required<ScanVariant>;
  u: Float32Array;
  /** Random even where Δ is fixed, so that a kernel reading it would fail. */
  deltaRaw: Float32Array;
  z: Float32Array;
  /**
   * (b, l, rowStride) rows with every column random, fixed B's and C's columns
   * too, so that a kernel reading them would fail.
   */
  xdbl: Float32Array;
  dout: Float32Array;
  /** A_log, D, deltaBias and the fixed B and C at the offsets below, with unaligned gaps between them. */
  params: Float32Array;
  aLogOffset: number;
  dOffset: number;
  biasOffset: number;
  /** Offsets of the fixed B and C (d, n); null where they are input-dependent. */
  bOffset: number | null;
  cOffset: number | null;
  /** Random values that the parameter gradients accumulate onto. */
  gradsStart: Float32Array;
  /** Random start of dXdbl, so that a kernel writing a column it should leave alone fails. */
  dXdblStart: Float32Array;
  want: {
    out: Float32Array;
    delta: Float32Array;
    /** Every h_t, (b, l, d, n). */
    states: Float32Array;
    du: Float32Array;
    dDelta: Float32Array;
    /** Null without a gate. */
    dz: Float32Array | null;
    /** dXdblStart with the input-dependent B and C columns replaced by their gradients. */
    dXdbl: Float32Array;
    /** gradsStart plus the gradients of A_log, D, deltaBias and the fixed B and C. */
    grads: Float32Array;
  };
}

/** Builds the inputs as the model initialises them, and runs the CPU reference forward and backward. */
export function makeScanCase(seed: number, b: number, l: number, d: number, n: number, variantIn: ScanVariant = {}): ScanCase {
  const variant: Required<ScanVariant> = {
    variableDelta: true, variableB: true, variableC: true, softplus: true, gate: 'silu', ...variantIn,
  };
  const rng = new Rng(seed);
  const tokens = b * l * d;
  const rowStride = DT_RANK + 2 * n;

  // A_log ≈ log(1..n), and Δ's bias the inverse softplus of about 0.01 to 0.1. Without softplus
  // Δ = deltaRaw + bias directly, so the bias is Δ itself and deltaRaw small, keeping Δ positive.
  const aLog = new Float32Array(d * n);
  for (let c = 0; c < d; c++) for (let s = 0; s < n; s++) aLog[c * n + s] = Math.log(s + 1) + 0.1 * (2 * rng.uniform() - 1);
  const D = randomArray(rng, d);
  const deltaBias = new Float32Array(d);
  for (let c = 0; c < d; c++) deltaBias[c] = variant.softplus ? -4.5 + 2.5 * rng.uniform() : 0.02 + 0.08 * rng.uniform();
  const u = randomArray(rng, tokens);
  const deltaRaw = randomArray(rng, tokens, variant.softplus ? 1 : 0.01);
  const z = randomArray(rng, tokens, 2);
  const xdbl = randomArray(rng, b * l * rowStride);
  const dout = randomArray(rng, tokens);

  const aLogOffset = 1;
  const dOffset = aLogOffset + d * n + 2;
  const biasOffset = dOffset + d + 1;
  const bOffset = variant.variableB ? null : biasOffset + d + 3;
  const cOffset = variant.variableC ? null : (bOffset ?? biasOffset + d) + d * n + 1;
  const params = new Float32Array(Math.max(biasOffset + d, (bOffset ?? 0) + d * n, (cOffset ?? 0) + d * n));
  const gradsStart = randomArray(rng, params.length, 0.1);
  const dXdblStart = randomArray(rng, b * l * rowStride);
  const fixedB = randomArray(rng, d * n);
  const fixedC = randomArray(rng, d * n);
  params.set(aLog, aLogOffset);
  params.set(D, dOffset);
  params.set(deltaBias, biasOffset);
  if (bOffset !== null) params.set(fixedB, bOffset);
  if (cOffset !== null) params.set(fixedC, cOffset);

  const A = aLog.map((v) => -Math.exp(v));
  const Bm = new Float32Array(b * l * n);
  const Cm = new Float32Array(b * l * n);
  for (let r = 0; r < b * l; r++) {
    for (let s = 0; s < n; s++) {
      Bm[r * n + s] = xdbl[r * rowStride + DT_RANK + s];
      Cm[r * n + s] = xdbl[r * rowStride + DT_RANK + n + s];
    }
  }
  const gate = variant.gate === 'none' ? null : variant.gate;
  const inp: ScanInputs = {
    u, delta: variant.variableDelta ? deltaRaw : null, A, B: variant.variableB ? Bm : fixedB, C: variant.variableC ? Cm : fixedC,
    D, z: gate ? z : null, deltaBias,
  };
  const dims: ScanDims = {
    b, l, d, n, variableB: variant.variableB, variableC: variant.variableC, softplus: variant.softplus, gate: gate ?? 'silu',
  };
  const out = new Float32Array(tokens);
  const delta = new Float32Array(tokens);
  const states = new Float32Array(tokens * n);
  selectiveScanForward(out, null, delta, states, inp, dims);

  // The kernels write the gradient of Δ before softplus at every token, also where Δ is fixed:
  // there it is the bias's gradient before the sum over tokens. A zero delta gives the CPU the same Δ.
  const g = {
    du: new Float32Array(tokens), dDelta: new Float32Array(tokens), dA: new Float32Array(d * n),
    dB: new Float32Array(variant.variableB ? b * l * n : d * n), dC: new Float32Array(variant.variableC ? b * l * n : d * n),
    dD: new Float32Array(d), dz: gate ? new Float32Array(tokens) : null, dDeltaBias: new Float32Array(d),
  };
  selectiveScanBackward(g, dout, { ...inp, delta: variant.variableDelta ? deltaRaw : new Float32Array(tokens) }, dims);
  const grads = gradsStart.slice();
  for (let j = 0; j < d * n; j++) grads[aLogOffset + j] += g.dA[j] * A[j];
  for (let c = 0; c < d; c++) {
    grads[dOffset + c] += g.dD[c];
    grads[biasOffset + c] += g.dDeltaBias[c];
  }
  if (bOffset !== null) for (let j = 0; j < d * n; j++) grads[bOffset + j] += g.dB[j];
  if (cOffset !== null) for (let j = 0; j < d * n; j++) grads[cOffset + j] += g.dC[j];

  const wantDXdbl = dXdblStart.slice();
  for (let r = 0; r < b * l; r++) {
    for (let s = 0; s < n; s++) {
      if (variant.variableB) wantDXdbl[r * rowStride + DT_RANK + s] = g.dB[r * n + s];
      if (variant.variableC) wantDXdbl[r * rowStride + DT_RANK + n + s] = g.dC[r * n + s];
    }
  }

  return {
    shape: {
      b, l, d, n, rowStride, bColumn: DT_RANK, cColumn: DT_RANK + n,
      variableDelta: variant.variableDelta, variableB: variant.variableB, variableC: variant.variableC, softplus: variant.softplus,
    },
    variant, u, deltaRaw, z, xdbl, dout, params, aLogOffset, dOffset, biasOffset, bOffset, cOffset, gradsStart, dXdblStart,
    want: { out, delta, states, du: g.du, dDelta: g.dDelta, dz: g.dz, dXdbl: wantDXdbl, grads },
  };
}

/** Uploads a case's inputs; the parameter and gradient buffers share the case's offsets. */
export function uploadScanCase(ctx: GpuContext, sc: ScanCase) {
  const paramsBuf = ctx.upload('test: params', sc.params);
  const gradsBuf = ctx.upload('test: grads', sc.gradsStart);
  const at = (buffer: GPUBuffer, offset: number | null): Tensor | undefined => (offset === null ? undefined : { buffer, offset });
  const inputs: FusedScanTensors = {
    u: ctx.upload('test: u', sc.u),
    delta: ctx.upload('test: deltaRaw', sc.deltaRaw),
    xdbl: ctx.upload('test: xdbl', sc.xdbl),
    z: sc.variant.gate === 'none' ? null : ctx.upload('test: z', sc.z),
    gate: sc.variant.gate === 'none' ? undefined : sc.variant.gate,
    A_log: { buffer: paramsBuf, offset: sc.aLogOffset },
    D: { buffer: paramsBuf, offset: sc.dOffset },
    deltaBias: { buffer: paramsBuf, offset: sc.biasOffset },
    B: at(paramsBuf, sc.bOffset),
    C: at(paramsBuf, sc.cOffset),
  };
  const grads = {
    buffer: gradsBuf,
    A_log: { buffer: gradsBuf, offset: sc.aLogOffset },
    D: { buffer: gradsBuf, offset: sc.dOffset },
    deltaBias: { buffer: gradsBuf, offset: sc.biasOffset },
    B: at(gradsBuf, sc.bOffset),
    C: at(gradsBuf, sc.cOffset),
  };
  return { inputs, grads, dout: ctx.upload('test: dout', sc.dout), dXdbl: ctx.upload('test: dXdbl', sc.dXdblStart) };
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

/** Slices a gradient buffer read back into the parts that the scan adds to; B and C are empty where not fixed. */
export function paramGradParts(sc: ScanCase, grads: Float32Array) {
  const { d, n } = sc.shape;
  const part = (offset: number | null) => (offset === null ? new Float32Array(0) : grads.subarray(offset, offset + d * n));
  return {
    A_log: grads.subarray(sc.aLogOffset, sc.aLogOffset + d * n),
    D: grads.subarray(sc.dOffset, sc.dOffset + d),
    deltaBias: grads.subarray(sc.biasOffset, sc.biasOffset + d),
    B: part(sc.bOffset),
    C: part(sc.cOffset),
  };
}

/** Gradients that a scan kernel test read back, in the layouts of ScanCase.want. */
export interface ScanGradsRead {
  du: Float32Array;
  dDelta: Float32Array;
  /** Ignored for a case without a gate. */
  dz: Float32Array;
  dXdbl: Float32Array;
  grads: Float32Array;
}

/** Compares every gradient of a scan call with the CPU reference, each under its own name. */
export function expectScanGrads(sc: ScanCase, got: ScanGradsRead): void {
  if (sc.want.dz) expectClose('dz', got.dz, sc.want.dz);
  expectClose('du', got.du, sc.want.du);
  expectClose('dDelta', got.dDelta, sc.want.dDelta);
  const gotBC = splitBC(sc, got.dXdbl);
  const wantBC = splitBC(sc, sc.want.dXdbl);
  expectClose('dB', gotBC.dB, wantBC.dB);
  expectClose('dC', gotBC.dC, wantBC.dC);
  // The Δ columns and the columns of a fixed B or C keep their start values.
  expectClose('dXdbl', got.dXdbl, sc.want.dXdbl);
  const gotParams = paramGradParts(sc, got.grads);
  const wantParams = paramGradParts(sc, sc.want.grads);
  expectClose('dA_log', gotParams.A_log, wantParams.A_log);
  expectClose('dD', gotParams.D, wantParams.D);
  expectClose('dDeltaBias', gotParams.deltaBias, wantParams.deltaBias);
  expectClose('dB fixed', gotParams.B, wantParams.B);
  expectClose('dC fixed', gotParams.C, wantParams.C);
}
