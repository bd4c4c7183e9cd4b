import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../model/config';
import { adamwUpdate, crossEntropyForwardBackward, sumOfSquares } from '../../model/ops';
import { ADAMW, clipScale } from '../../model/optimizer';
import { buildLayout, PARAM_ALIGN } from '../../model/params';
import { Rng } from '../../model/random';
import * as gpuOps from './kernels';
import { expectClose, openGpu, randomArray, randomIds, runAndRead, type GpuFixture } from './testing';

let gpu: GpuFixture;
beforeAll(async () => {
  gpu = await openGpu();
});
afterAll(() => gpu?.close());

function stepUniform(values: Partial<gpuOps.StepValues>): GPUBuffer {
  const data = gpuOps.stepUniformData({ learningRate: 0, step: 1, lossScale: 0, ...ADAMW, ...values });
  const buffer = gpu.ctx.createBuffer('test: step', 16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  gpu.device.queue.writeBuffer(buffer, 0, data);
  return buffer;
}

describe('cross-entropy and metrics kernels', () => {
  async function check(seed: number, rows: number, vocab: number) {
    const { ctx } = gpu;
    const rng = new Rng(seed);
    const logits = randomArray(rng, rows * vocab, 3);
    const targets = randomIds(rng, rows, vocab);
    const mask = new Float32Array(rows);
    for (let r = 0; r < rows; r++) mask[r] = r % 3 === 1 ? 0 : 1;
    let maskSum = 0;
    for (const m of mask) maskSum += m;
    const scale = maskSum > 0 ? 1 / maskSum : 0;

    const wantLoss = new Float32Array(rows);
    const wantCorrect = new Float32Array(rows);
    const wantDlogits = new Float32Array(rows * vocab);
    crossEntropyForwardBackward(wantLoss, wantCorrect, wantDlogits, logits, targets, mask, rows, vocab, scale);
    let lossSum = 0;
    let correctSum = 0;
    for (let r = 0; r < rows; r++) {
      lossSum += wantLoss[r];
      correctSum += wantCorrect[r];
    }

    const lossRows = ctx.createStorage('test: loss rows', rows);
    const correct = ctx.createStorage('test: correct', rows);
    const dlogits = ctx.createStorage('test: dlogits', rows * vocab);
    const maskBuf = ctx.upload('test: mask', mask);
    const metrics = ctx.createStorage('test: metrics', 4);
    const ce = await gpuOps.crossEntropyForwardBackward(ctx, lossRows, correct, dlogits, ctx.upload('test: logits', logits),
      ctx.upload('test: targets', targets), maskBuf, rows, vocab, stepUniform({ lossScale: scale }));
    const accumulate = await gpuOps.metricsAccumulate(ctx, metrics, lossRows, correct, maskBuf, rows);
    // Two steps' worth of metrics accumulate until read.
    const got = await runAndRead(ctx, [ce, accumulate, accumulate], {
      loss: [lossRows, rows], correct: [correct, rows], dlogits: [dlogits, rows * vocab], metrics: [metrics, 4],
    });
    expectClose('lossRows', got.loss, wantLoss);
    expectClose('correct', got.correct, wantCorrect);
    expectClose('dlogits', got.dlogits, wantDlogits);
    expectClose('metrics', got.metrics, [2 * lossSum, 2 * correctSum, 2 * maskSum, 2]);
  }

  it('cross-entropy with masked rows', async () => {
    await check(51, 7, 5);
  });

  it('cross-entropy over many rows', async () => {
    await check(52, 150, 3);
  });

  it('cross-entropy with one row', async () => {
    await check(53, 1, 2);
  });
});

describe('gradient clip kernels', () => {
  async function check(seed: number, count: number, gradClip: number) {
    const { ctx } = gpu;
    const grads = randomArray(new Rng(seed), count);
    const norm = Math.sqrt(sumOfSquares(grads));
    const clip = ctx.createStorage('test: clip', 2);
    const commands = await gpuOps.sumOfSquares(ctx, clip, ctx.upload('test: grads', grads), count, gradClip);
    const got = await runAndRead(ctx, commands, { clip: [clip, 2] });
    expectClose('clip', got.clip, [clipScale(norm, gradClip), norm]);
    return got.clip[0];
  }

  it('clip scale when clipping', async () => {
    expect(await check(61, 5000, 1)).toBeLessThan(1);
  });

  it('clip scale below the threshold', async () => {
    expect(await check(62, 7, 100)).toBe(1);
  });

  it('clip scale with clipping off', async () => {
    expect(await check(63, 33, 0)).toBe(1);
  });

  it('clip scale over many partial sums', async () => {
    // 70001 floats make the maximum 4096 partial sums, each over 17 or 18 strided squares.
    expect(await check(64, 70001, 1)).toBeLessThan(1);
  });
});

describe('adamw kernel', () => {
  it('adamw over a model layout', async () => {
    const { ctx } = gpu;
    const cfg = resolveConfig({ vocab_size: 6, d_model: 4, n_layer: 1, d_state: 2, expand: 2, d_conv: 4, dt_rank: 'auto' });
    const layout = buildLayout(cfg);
    const total = layout.totalSize;
    const rng = new Rng(71);
    // Padding stays zero in every buffer, as the engine keeps it.
    const inTensor = new Uint8Array(total);
    for (const e of layout.entries) inTensor.fill(1, e.offset, e.offset + e.size);
    const masked = (a: Float32Array) => a.map((v, i) => (inTensor[i] ? v : 0));
    const params = masked(randomArray(rng, total));
    const grads = masked(randomArray(rng, total));
    const m = masked(randomArray(rng, total, 0.1));
    const v = masked(randomArray(rng, total, 0.01).map(Math.abs));
    const flags = new Uint32Array(total / PARAM_ALIGN);
    for (const e of layout.entries) flags.fill(e.decay ? 1 : 0, e.offset / PARAM_ALIGN, Math.ceil((e.offset + e.size) / PARAM_ALIGN));

    const hp = { lr: 0.01, ...ADAMW, weightDecay: 0.1 };
    const step = 3;
    const gradScale = 0.75;
    const want = { params: params.slice(), m: m.slice(), v: v.slice() };
    for (const e of layout.entries) adamwUpdate(want.params, want.m, want.v, grads, e.offset, e.size, hp, e.decay, step, gradScale);

    const buffers = {
      params: ctx.upload('test: params', params), m: ctx.upload('test: m', m), v: ctx.upload('test: v', v),
    };
    const dispatch = await gpuOps.adamwUpdate(ctx, buffers.params, buffers.m, buffers.v, ctx.upload('test: grads', grads),
      ctx.upload('test: decay flags', flags), ctx.upload('test: clip', new Float32Array([gradScale, 0])), total,
      { ...ADAMW, weightDecay: hp.weightDecay }, stepUniform({ learningRate: hp.lr, step }));
    const got = await runAndRead(ctx, [dispatch], {
      params: [buffers.params, total], m: [buffers.m, total], v: [buffers.v, total],
    });
    expectClose('params', got.params, want.params);
    expectClose('m', got.m, want.m);
    expectClose('v', got.v, want.v);
  });
});
