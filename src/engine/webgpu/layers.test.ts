import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  conv1dSiluBackward, conv1dSiluForward, embeddingBackward, embeddingForward, rmsnormBackward, rmsnormForward,
} from '../../model/ops';
import { Rng } from '../../model/random';
import * as gpuOps from './kernels';
import { expectClose, openGpu, randomArray, randomIds, runAndRead, type GpuFixture } from './testing';

let gpu: GpuFixture;
beforeAll(async () => {
  gpu = await openGpu();
});
afterAll(() => gpu?.close());

/** Float offset of a tensor inside a larger parameter or gradient buffer, unaligned on purpose. */
const OFFSET = 3;

/** A buffer of `OFFSET + length` random floats, with the tensor at OFFSET as in the flat parameter buffer. */
function padded(rng: Rng, length: number, scale = 1): Float32Array {
  return randomArray(rng, OFFSET + length, scale);
}

describe('embedding kernels', () => {
  async function check(seed: number, nTok: number, vocab: number, dim: number) {
    const { ctx } = gpu;
    const rng = new Rng(seed);
    const ids = randomIds(rng, nTok, vocab);
    const W = padded(rng, vocab * dim);
    const dOut = randomArray(rng, nTok * dim);
    const dWStart = padded(rng, vocab * dim, 0.1);

    const wantOut = new Float32Array(nTok * dim);
    embeddingForward(wantOut, ids, W.subarray(OFFSET), nTok, dim);
    const wantDw = dWStart.slice();
    embeddingBackward(wantDw.subarray(OFFSET), dOut, ids, nTok, dim);

    const idsBuf = ctx.upload('test: ids', ids);
    const outBuf = ctx.createStorage('test: out', nTok * dim);
    const dOutBuf = ctx.upload('test: dOut', dOut);
    const dwBuf = ctx.upload('test: dW', dWStart);
    const commands = [
      await gpuOps.embeddingForward(ctx, outBuf, idsBuf, { buffer: ctx.upload('test: W', W), offset: OFFSET }, nTok, dim),
      await gpuOps.embeddingBackward(ctx, { buffer: dwBuf, offset: OFFSET }, dOutBuf, idsBuf, nTok, dim, vocab),
    ];
    const got = await runAndRead(ctx, commands, { out: [outBuf, nTok * dim], dW: [dwBuf, dWStart.length] });
    expectClose('out', got.out, wantOut);
    expectClose('dW', got.dW, wantDw);
  }

  it('embedding with repeated ids', async () => {
    await check(11, 19, 4, 5);
  });

  it('embedding with one token', async () => {
    await check(12, 1, 3, 1);
  });

  it('embedding over many vocab rows', async () => {
    // 40 rows of 2 full 4-column blocks span several workgroups.
    await check(13, 50, 40, 8);
  });
});

describe('rmsnorm kernels', () => {
  async function check(seed: number, rows: number, dim: number) {
    const { ctx } = gpu;
    const rng = new Rng(seed);
    const x = randomArray(rng, rows * dim, 2);
    const w = padded(rng, dim);
    const dy = randomArray(rng, rows * dim);
    const dxStart = randomArray(rng, rows * dim);
    const dwStart = padded(rng, dim, 0.1);

    const wantY = new Float32Array(rows * dim);
    const wantRstd = new Float32Array(rows);
    rmsnormForward(wantY, wantRstd, x, w.subarray(OFFSET), rows, dim);
    const wantDx = dxStart.slice();
    const wantDw = dwStart.slice();
    rmsnormBackward(wantDx, wantDw.subarray(OFFSET), dy, x, w.subarray(OFFSET), wantRstd, rows, dim);

    const xBuf = ctx.upload('test: x', x);
    const wT = { buffer: ctx.upload('test: w', w), offset: OFFSET };
    const yBuf = ctx.createStorage('test: y', rows * dim);
    const rstdBuf = ctx.createStorage('test: rstd', rows);
    const dxBuf = ctx.upload('test: dx', dxStart);
    const dwBuf = ctx.upload('test: dw', dwStart);
    const commands = [
      await gpuOps.rmsnormForward(ctx, yBuf, rstdBuf, xBuf, wT, rows, dim),
      ...(await gpuOps.rmsnormBackward(ctx, dxBuf, { buffer: dwBuf, offset: OFFSET }, ctx.upload('test: dy', dy), xBuf, wT,
        rstdBuf, rows, dim)),
    ];
    const got = await runAndRead(ctx, commands, {
      y: [yBuf, rows * dim], rstd: [rstdBuf, rows], dx: [dxBuf, rows * dim], dw: [dwBuf, dwStart.length],
    });
    expectClose('y', got.y, wantY);
    expectClose('rstd', got.rstd, wantRstd);
    expectClose('dx', got.dx, wantDx);
    expectClose('dw', got.dw, wantDw);
  }

  it('rmsnorm on odd sizes', async () => {
    await check(21, 7, 5);
  });

  it('rmsnorm over more rows than a workgroup', async () => {
    await check(22, 131, 9);
  });

  it('rmsnorm with one row', async () => {
    await check(23, 1, 1);
  });

  it('rmsnorm over wide rows', async () => {
    // 70 columns spread the dw pass over two workgroups.
    await check(24, 5, 70);
  });
});

describe('conv1d SiLU kernels', () => {
  async function check(seed: number, b: number, l: number, d: number, k: number) {
    const { ctx } = gpu;
    const rng = new Rng(seed);
    const x = randomArray(rng, b * l * d, 2);
    const du = randomArray(rng, b * l * d);
    // Weight and bias share one parameter buffer: w at OFFSET, bias right after it.
    const params = randomArray(rng, OFFSET + d * k + d);
    const grads = randomArray(rng, OFFSET + d * k + d, 0.1);
    const biasOffset = OFFSET + d * k;
    const w = params.subarray(OFFSET, biasOffset);
    const bias = params.subarray(biasOffset);

    const wantPre = new Float32Array(b * l * d);
    const wantU = new Float32Array(b * l * d);
    conv1dSiluForward(wantPre, wantU, x, w, bias, b, l, d, k);
    const wantDx = new Float32Array(b * l * d);
    const wantGrads = grads.slice();
    conv1dSiluBackward(wantDx, wantGrads.subarray(OFFSET, biasOffset), wantGrads.subarray(biasOffset), du, wantPre, x, w, b, l, d, k);

    const paramsBuf = ctx.upload('test: params', params);
    const gradsBuf = ctx.upload('test: grads', grads);
    const xBuf = ctx.upload('test: x', x);
    const preBuf = ctx.createStorage('test: pre', b * l * d);
    const uBuf = ctx.createStorage('test: u', b * l * d);
    const dxBuf = ctx.createStorage('test: dx', b * l * d);
    const commands = [
      await gpuOps.conv1dSiluForward(ctx, preBuf, uBuf, xBuf, { buffer: paramsBuf, offset: OFFSET },
        { buffer: paramsBuf, offset: biasOffset }, b, l, d, k),
      ...(await gpuOps.conv1dSiluBackward(ctx, dxBuf, { buffer: gradsBuf, offset: OFFSET }, { buffer: gradsBuf, offset: biasOffset },
        ctx.upload('test: du', du), preBuf, xBuf, { buffer: paramsBuf, offset: OFFSET }, b, l, d, k)),
    ];
    const got = await runAndRead(ctx, commands, {
      pre: [preBuf, b * l * d], u: [uBuf, b * l * d], dx: [dxBuf, b * l * d], grads: [gradsBuf, grads.length],
    });
    expectClose('pre', got.pre, wantPre);
    expectClose('u', got.u, wantU);
    expectClose('dx', got.dx, wantDx);
    expectClose('dw', got.grads.subarray(OFFSET, biasOffset), wantGrads.subarray(OFFSET, biasOffset));
    expectClose('dbias', got.grads.subarray(biasOffset), wantGrads.subarray(biasOffset));
  }

  it('conv1d on odd sizes', async () => {
    await check(31, 2, 7, 5, 4);
  });

  it('conv1d at length 1', async () => {
    await check(32, 3, 1, 2, 4);
  });

  it('conv1d with kernel width 1', async () => {
    await check(33, 2, 5, 3, 1);
  });

  it('conv1d over many rows', async () => {
    await check(34, 3, 50, 4, 3);
  });

  it('conv1d at maximum kernel width', async () => {
    // d_conv = 8 uses every tap register of the backward walk, which l = 11 fills.
    await check(35, 2, 11, 3, 8);
  });

  it('conv1d shorter than its kernel', async () => {
    await check(37, 2, 3, 3, 8);
  });

  it('conv1d over many channels', async () => {
    // 2 · 70 (sequence, channel) pairs and 70 · 6 (channel, tap) sums span several workgroups.
    await check(36, 2, 9, 70, 5);
  });

  it('conv1d rejects kernel width over 8', async () => {
    const { ctx } = gpu;
    const buffer = ctx.createStorage('test: conv1d any', 64);
    await expect(gpuOps.conv1dSiluBackward(ctx, buffer, buffer, buffer, buffer, buffer, buffer, buffer, 1, 2, 1, 9))
      .rejects.toThrow('d_conv = 9 is over the conv1d kernel');
  });
});
