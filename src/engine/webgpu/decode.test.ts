import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attentionForward, ropeForward } from '../../model/attentionOps';
import { attentionDecode as attentionDecodeReference } from '../../model/kvcache';
import { conv1dSiluForward, selectiveScanForward } from '../../model/ops';
import { Rng } from '../../model/random';
import { conv1dSiluStep as conv1dSiluStepReference, selectiveScanStep as selectiveScanStepReference } from '../../model/recurrent';
import { encodeCommands, readFloats, type Command } from './context';
import * as gpuOps from './decodeKernels';
import { expectClose, openGpu, randomArray, type GpuFixture } from './testing';

let gpu: GpuFixture;
beforeAll(async () => {
  gpu = await openGpu();
});
afterAll(() => gpu?.close());

/** Submits the commands; writes queued before this call land first. */
function submit(commands: Command[]): void {
  const encoder = gpu.device.createCommandEncoder({ label: 'test: decode step' });
  encodeCommands(encoder, commands, 'test: decode pass');
  gpu.device.queue.submit([encoder.finish()]);
}

function write(buffer: GPUBuffer, data: Float32Array): void {
  gpu.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
}

/** Rows t of each batch row of a (b, l, width) tensor, as (b, width). */
function timeSlice(a: Float32Array, b: number, l: number, width: number, t: number): Float32Array {
  const out = new Float32Array(b * width);
  for (let r = 0; r < b; r++) out.set(a.subarray((r * l + t) * width, (r * l + t + 1) * width), r * width);
  return out;
}

describe('conv1d_silu_step', () => {
  for (const [b, l, d, k] of [[2, 7, 5, 4], [1, 3, 70, 4], [1, 1, 3, 1]]) {
    it(`conv step equals sequence conv at b=${b} l=${l} d=${d} k=${k}`, async () => {
      const { ctx } = gpu;
      const rng = new Rng(11 + d);
      const x = randomArray(rng, b * l * d);
      // The weight and the bias sit at a nonzero offset of one parameter buffer, as in the model.
      const params = randomArray(rng, 64 + d * k + d);
      const w = params.subarray(64, 64 + d * k);
      const bias = params.subarray(64 + d * k);
      const pre = new Float32Array(b * l * d);
      const want = new Float32Array(b * l * d);
      conv1dSiluForward(pre, want, x, w, bias, b, l, d, k);

      const paramBuffer = ctx.upload('test: conv params', params);
      const xBuffer = ctx.createStorage('test: conv x', b * d);
      const uBuffer = ctx.createStorage('test: conv u', b * d);
      const state = ctx.createStorage('test: conv state', b * d * k);
      const dispatch = await gpuOps.conv1dSiluStep(ctx, uBuffer, state, xBuffer, { buffer: paramBuffer, offset: 64 },
        { buffer: paramBuffer, offset: 64 + d * k }, b, d, k);

      const cpuState = new Float64Array(b * d * k);
      const cpuU = new Float64Array(b * d);
      for (let t = 0; t < l; t++) {
        const xt = timeSlice(x, b, l, d, t);
        write(xBuffer, xt);
        submit([dispatch]);
        expectClose(`u at step ${t}`, await readFloats(gpu.device, uBuffer, b * d), timeSlice(want, b, l, d, t));
        conv1dSiluStepReference(cpuU, cpuState, xt, w, bias, b, d, k);
      }
      expectClose('conv state', await readFloats(gpu.device, state, b * d * k), cpuState);
    });
  }
});

describe('selective_scan_step', () => {
  for (const [b, l, d, n] of [[2, 9, 5, 3], [1, 4, 67, 1], [1, 1, 2, 16]]) {
    it(`scan step equals sequence scan at b=${b} l=${l} d=${d} n=${n}`, async () => {
      const { ctx } = gpu;
      const rng = new Rng(5 + n);
      const dtRank = 2;
      const rowStride = dtRank + 2 * n;
      const u = randomArray(rng, b * l * d);
      const deltaRaw = randomArray(rng, b * l * d);
      const xdbl = randomArray(rng, b * l * rowStride);
      const z = randomArray(rng, b * l * d, 2);
      // A_log, D and the Δ bias at offsets 0, 128 and 256 of one parameter buffer.
      const params = new Float32Array(256 + Math.max(d, 128));
      for (let c = 0; c < d; c++) {
        for (let s = 0; s < n; s++) params[c * n + s] = Math.log(s + 1) + 0.1 * rng.uniform();
      }
      const aLog = params.subarray(0, d * n);
      const aLogOffset = 0;
      const dOffset = Math.max(128, d * n);
      const biasOffset = dOffset + Math.max(128, d);
      const withParams = new Float32Array(biasOffset + d);
      withParams.set(aLog, aLogOffset);
      for (let c = 0; c < d; c++) {
        withParams[dOffset + c] = 1 + 0.5 * rng.uniform();
        withParams[biasOffset + c] = Math.log(Math.expm1(0.01 + 0.09 * rng.uniform()));
      }
      const D = withParams.subarray(dOffset, dOffset + d);
      const deltaBias = withParams.subarray(biasOffset, biasOffset + d);

      // The sequence reference reads B and C as (b, l, n).
      const B = new Float32Array(b * l * n);
      const C = new Float32Array(b * l * n);
      for (let row = 0; row < b * l; row++) {
        for (let s = 0; s < n; s++) {
          B[row * n + s] = xdbl[row * rowStride + dtRank + s];
          C[row * n + s] = xdbl[row * rowStride + dtRank + n + s];
        }
      }
      const A = Float32Array.from(aLog, (v) => -Math.exp(v));
      const want = new Float32Array(b * l * d);
      const lastState = new Float32Array(b * d * n);
      selectiveScanForward(want, lastState, null, null, { u, delta: deltaRaw, A, B, C, D, z, deltaBias },
        { b, l, d, n, variableB: true, variableC: true, softplus: true });

      const paramBuffer = ctx.upload('test: scan params', withParams);
      const buffers = {
        u: ctx.createStorage('test: scan u', b * d),
        deltaRaw: ctx.createStorage('test: scan deltaRaw', b * d),
        xdbl: ctx.createStorage('test: scan xdbl', b * rowStride),
        z: ctx.createStorage('test: scan z', b * d),
      };
      const out = ctx.createStorage('test: scan out', b * d);
      const h = ctx.createStorage('test: scan h', b * d * n);
      const dispatch = await gpuOps.selectiveScanStep(ctx, out, h, {
        ...buffers,
        A_log: { buffer: paramBuffer, offset: aLogOffset },
        D: { buffer: paramBuffer, offset: dOffset },
        deltaBias: { buffer: paramBuffer, offset: biasOffset },
      }, { b, d, n, rowStride, bColumn: dtRank, cColumn: dtRank + n });

      const cpuH = new Float64Array(b * d * n);
      const cpuOut = new Float64Array(b * d);
      for (let t = 0; t < l; t++) {
        const slices = {
          u: timeSlice(u, b, l, d, t), deltaRaw: timeSlice(deltaRaw, b, l, d, t), z: timeSlice(z, b, l, d, t),
          xdbl: timeSlice(xdbl, b, l, rowStride, t), B: timeSlice(B, b, l, n, t), C: timeSlice(C, b, l, n, t),
        };
        write(buffers.u, slices.u);
        write(buffers.deltaRaw, slices.deltaRaw);
        write(buffers.xdbl, slices.xdbl);
        write(buffers.z, slices.z);
        submit([dispatch]);
        expectClose(`out at step ${t}`, await readFloats(gpu.device, out, b * d), timeSlice(want, b, l, d, t));
        selectiveScanStepReference(cpuOut, cpuH, slices.u, slices.deltaRaw, slices.B, slices.C, slices.z, aLog, D, deltaBias, b, d, n);
        expectClose(`CPU step out at step ${t}`, cpuOut, timeSlice(want, b, l, d, t));
      }
      expectClose('h', await readFloats(gpu.device, h, b * d * n), lastState);
    });
  }

  it('scan step rejects C past the row', () => {
    const { ctx } = gpu;
    const buffer = ctx.createStorage('test: any', 16);
    const tensors = { u: buffer, deltaRaw: buffer, xdbl: buffer, z: buffer, A_log: buffer, D: buffer, deltaBias: buffer };
    expect(() => gpuOps.selectiveScanStep(ctx, buffer, buffer, tensors, { b: 1, d: 2, n: 4, rowStride: 6, bColumn: 0, cColumn: 4 }))
      .toThrow('C at column 4 with d_state = 4 runs past rowStride = 6: use a column from 0 to 2');
  });
});

interface DecodeCase {
  b: number;
  l: number;
  nHead: number;
  headDim: number;
  chunk?: number;
}

describe('attention decode', () => {
  const cases: DecodeCase[] = [
    { b: 1, l: 1, nHead: 2, headDim: 4 },
    { b: 2, l: 33, nHead: 2, headDim: 4, chunk: 8 },
    { b: 1, l: 21, nHead: 3, headDim: 3, chunk: 4 },
    { b: 1, l: 260, nHead: 1, headDim: 8 },
  ];
  for (const c of cases) {
    it(`decode equals causal attention at ${JSON.stringify(c)}`, async () => {
      const { ctx } = gpu;
      const { b, l, nHead, headDim } = c;
      const d = nHead * headDim;
      const rng = new Rng(3 + l);
      // q spans a wider range than k so that some rows attend sharply.
      const q = randomArray(rng, b * l * d, 2);
      const k = randomArray(rng, b * l * d);
      const v = randomArray(rng, b * l * d);
      const qRot = new Float32Array(q.length);
      const kRot = new Float32Array(k.length);
      ropeForward(qRot, q, b, l, nHead, headDim);
      ropeForward(kRot, k, b, l, nHead, headDim);
      const want = new Float32Array(b * l * d);
      attentionForward(want, new Float32Array(b * nHead * l), qRot, kRot, v, b, l, nHead, headDim);

      const buffers = {
        q: ctx.createStorage('test: decode q', b * d),
        k: ctx.createStorage('test: decode k', b * d),
        v: ctx.createStorage('test: decode v', b * d),
        kCache: ctx.createStorage('test: decode k cache', b * l * d),
        vCache: ctx.createStorage('test: decode v cache', b * l * d),
        out: ctx.createStorage('test: decode out', b * d),
      };
      const position = gpuOps.createDecodePosition(ctx, headDim, l, 'test');
      const commands = [
        await gpuOps.attentionDecodeAppend(ctx, buffers.kCache, buffers.vCache, buffers.q, buffers.k, buffers.v, position, b, nHead, headDim),
        ...(await gpuOps.attentionDecode(ctx, buffers.out, buffers.q, buffers.kCache, buffers.vCache, position, b, l, nHead, headDim,
          { chunk: c.chunk })),
      ];

      for (let t = 0; t < l; t++) {
        write(buffers.q, timeSlice(q, b, l, d, t));
        write(buffers.k, timeSlice(k, b, l, d, t));
        write(buffers.v, timeSlice(v, b, l, d, t));
        gpuOps.writeDecodePosition(gpu.device, position, t);
        submit(commands);
        expectClose(`out at position ${t}`, await readFloats(gpu.device, buffers.out, b * d), timeSlice(want, b, l, d, t));
        expectClose(`rotated q at position ${t}`, await readFloats(gpu.device, buffers.q, b * d), timeSlice(qRot, b, l, d, t));
      }
      // The cache is token-major like the sequence tensors, so it holds exactly the rotated keys and the values.
      expectClose('k cache', await readFloats(gpu.device, buffers.kCache, b * l * d), kRot);
      expectClose('v cache', await readFloats(gpu.device, buffers.vCache, b * l * d), v);

      // The CPU decoding reference agrees with the last row of causal attention.
      const last = new Float64Array(b * d);
      attentionDecodeReference(last, timeSlice(qRot, b, l, d, l - 1), kRot, v, b, l, l, nHead, headDim);
      expectClose('CPU decode at the last position', last, timeSlice(want, b, l, d, l - 1));
    });
  }

  it('decode position rejects a full cache', () => {
    const position = gpuOps.createDecodePosition(gpu.ctx, 4, 8, 'test');
    expect(() => gpuOps.writeDecodePosition(gpu.device, position, 8)).toThrow('decode position 8 is invalid: use an integer from 0 to 7');
  });

  it('rope angles match the rotation of one row', () => {
    const angles = gpuOps.ropeAngles(37, 6);
    expect(angles).toHaveLength(6);
    const row = new Float64Array([1, 0, 1, 0, 1, 0]);
    const rotated = new Float64Array(6);
    // ropeForward at l = 38 rotates its last row by position 37.
    const seq = new Float64Array(38 * 6);
    seq.set(row, 37 * 6);
    const seqOut = new Float64Array(seq.length);
    ropeForward(seqOut, seq, 1, 38, 1, 6);
    rotated.set(seqOut.subarray(37 * 6));
    for (let i = 0; i < 3; i++) {
      expect(angles[2 * i]).toBeCloseTo(rotated[2 * i], 6);
      expect(angles[2 * i + 1]).toBeCloseTo(rotated[2 * i + 1], 6);
    }
  });
});
