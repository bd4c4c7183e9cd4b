import { afterAll, beforeAll, describe, it } from 'vitest';
import { ropeForward, swigluBackward, swigluForward } from '../../model/attentionOps';
import { Rng } from '../../model/random';
import * as gpuOps from './attentionKernels';
import { expectClose, openGpu, randomArray, runAndRead, type GpuFixture } from './testing';

let gpu: GpuFixture;
beforeAll(async () => {
  gpu = await openGpu();
});
afterAll(() => gpu?.close());

interface Shape {
  b: number;
  l: number;
  nHead: number;
  headDim: number;
}

describe('rope kernel', () => {
  async function check(seed: number, s: Shape, inverse: boolean, inPlace: boolean) {
    const { ctx } = gpu;
    const rng = new Rng(seed);
    const size = s.b * s.l * s.nHead * s.headDim;
    const x = randomArray(rng, size);
    const want = new Float32Array(size);
    ropeForward(want, x, s.b, s.l, s.nHead, s.headDim, inverse);

    const xBuf = ctx.upload('test: rope x', x);
    const outBuf = inPlace ? xBuf : ctx.createStorage('test: rope out', size);
    const command = await gpuOps.ropeForward(ctx, outBuf, xBuf, s.b, s.l, s.nHead, s.headDim, inverse);
    const got = await runAndRead(ctx, [command], { out: [outBuf, size], x: [xBuf, size] });
    expectClose('out', got.out, want);
    if (!inPlace) expectClose('x', got.x, x, { rtol: 0, atolFactor: 0 });
  }

  it('rope at odd head_dim', async () => {
    await check(41, { b: 2, l: 7, nHead: 3, headDim: 5 }, false, false);
  });

  it('rope backward at odd head_dim', async () => {
    await check(42, { b: 2, l: 7, nHead: 3, headDim: 5 }, true, false);
  });

  it('rope in place at head_dim 8', async () => {
    await check(43, { b: 2, l: 130, nHead: 2, headDim: 8 }, false, true);
    await check(44, { b: 2, l: 130, nHead: 2, headDim: 8 }, true, true);
  });

  it('rope at head_dim 1', async () => {
    await check(45, { b: 2, l: 7, nHead: 2, headDim: 1 }, false, false);
    await check(46, { b: 1, l: 1, nHead: 1, headDim: 1 }, true, true);
  });

  it('rope backward undoes rope forward', async () => {
    const { ctx } = gpu;
    const s = { b: 2, l: 33, nHead: 2, headDim: 7 };
    const size = s.b * s.l * s.nHead * s.headDim;
    const x = randomArray(new Rng(47), size);
    const buf = ctx.upload('test: rope round trip', x);
    const commands = [
      await gpuOps.ropeForward(ctx, buf, buf, s.b, s.l, s.nHead, s.headDim, false),
      await gpuOps.ropeForward(ctx, buf, buf, s.b, s.l, s.nHead, s.headDim, true),
    ];
    const got = await runAndRead(ctx, commands, { x: [buf, size] });
    expectClose('x', got.x, x);
  });
});

describe('swiglu kernels', () => {
  async function check(seed: number, n: number) {
    const { ctx } = gpu;
    const rng = new Rng(seed);
    const gate = randomArray(rng, n, 4);
    const up = randomArray(rng, n);
    const dout = randomArray(rng, n);
    const wantOut = new Float32Array(n);
    swigluForward(wantOut, gate, up, n);
    const wantDGate = new Float32Array(n);
    const wantDUp = new Float32Array(n);
    swigluBackward(wantDGate, wantDUp, dout, gate, up, n);

    const gateBuf = ctx.upload('test: gate', gate);
    const upBuf = ctx.upload('test: up', up);
    const outBuf = ctx.createStorage('test: out', n);
    const dGateBuf = ctx.createStorage('test: dGate', n);
    const dUpBuf = ctx.createStorage('test: dUp', n);
    const commands = [
      await gpuOps.swigluForward(ctx, outBuf, gateBuf, upBuf, n),
      await gpuOps.swigluBackward(ctx, dGateBuf, dUpBuf, ctx.upload('test: dout', dout), gateBuf, upBuf, n),
    ];
    const got = await runAndRead(ctx, commands, { out: [outBuf, n], dGate: [dGateBuf, n], dUp: [dUpBuf, n] });
    expectClose('out', got.out, wantOut);
    expectClose('dGate', got.dGate, wantDGate);
    expectClose('dUp', got.dUp, wantDUp);
  }

  it('swiglu over more elements than a workgroup', async () => {
    await check(51, 131);
  });

  it('swiglu with one element', async () => {
    await check(52, 1);
  });
});
