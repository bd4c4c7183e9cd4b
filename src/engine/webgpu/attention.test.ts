import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attentionBackward, attentionForward, positionEmbeddingBackward, positionEmbeddingForward, ropeForward, swigluBackward,
  swigluForward,
} from '../../model/attentionOps';
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

/** Seeded inputs and the CPU reference's outputs and gradients for one attention shape. */
function referenceAttention(seed: number, s: Shape) {
  const rng = new Rng(seed);
  const size = s.b * s.l * s.nHead * s.headDim;
  // q spans a wider range than k so that some rows attend sharply.
  const q = randomArray(rng, size, 2);
  const k = randomArray(rng, size);
  const v = randomArray(rng, size);
  const dout = randomArray(rng, size);
  const out = new Float32Array(size);
  const lse = new Float32Array(s.b * s.nHead * s.l);
  attentionForward(out, lse, q, k, v, s.b, s.l, s.nHead, s.headDim);
  const dq = new Float32Array(size);
  const dk = new Float32Array(size);
  const dv = new Float32Array(size);
  attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, s.b, s.l, s.nHead, s.headDim);
  return { size, q, k, v, dout, out, lse, dq, dk, dv };
}

/** Uploads the reference inputs and creates empty outputs and gradients. */
function attentionBuffers(want: ReturnType<typeof referenceAttention>, s: Shape, name: string) {
  const { ctx } = gpu;
  const stats = s.b * s.nHead * s.l;
  return {
    q: ctx.upload(`test: ${name} q`, want.q),
    k: ctx.upload(`test: ${name} k`, want.k),
    v: ctx.upload(`test: ${name} v`, want.v),
    dout: ctx.upload(`test: ${name} dout`, want.dout),
    // The backward passes read the reference's out and lse, so their errors do not add to the forward's.
    wantOut: ctx.upload(`test: ${name} reference out`, want.out),
    wantLse: ctx.upload(`test: ${name} reference lse`, want.lse),
    out: ctx.createStorage(`test: ${name} out`, want.size),
    lse: ctx.createStorage(`test: ${name} lse`, stats),
    dq: ctx.createStorage(`test: ${name} dq`, want.size),
    dk: ctx.createStorage(`test: ${name} dk`, want.size),
    dv: ctx.createStorage(`test: ${name} dv`, want.size),
  };
}

function expectAttentionClose(got: Record<string, Float32Array>, want: ReturnType<typeof referenceAttention>) {
  expectClose('out', got.out, want.out);
  expectClose('lse', got.lse, want.lse);
  expectClose('dq', got.dq, want.dq);
  expectClose('dk', got.dk, want.dk);
  expectClose('dv', got.dv, want.dv);
}

async function checkTiled(seed: number, s: Shape, tiles?: gpuOps.AttentionOptions['tiles']) {
  const { ctx } = gpu;
  const want = referenceAttention(seed, s);
  const buf = attentionBuffers(want, s, 'tiled');
  const { b, l, nHead, headDim } = s;
  const commands = [
    await gpuOps.attentionForward(ctx, buf.out, buf.lse, buf.q, buf.k, buf.v, b, l, nHead, headDim, { tiles }),
    ...(await gpuOps.attentionBackward(ctx, buf.dq, buf.dk, buf.dv, buf.dout, buf.q, buf.k, buf.v, buf.wantOut, buf.wantLse,
      b, l, nHead, headDim, { tiles })),
  ];
  const got = await runAndRead(ctx, commands, {
    out: [buf.out, want.size], lse: [buf.lse, want.lse.length],
    dq: [buf.dq, want.size], dk: [buf.dk, want.size], dv: [buf.dv, want.size],
  });
  expectAttentionClose(got, want);
}

async function checkNaive(seed: number, s: Shape) {
  const { ctx } = gpu;
  const want = referenceAttention(seed, s);
  const buf = attentionBuffers(want, s, 'naive');
  const { b, l, nHead, headDim } = s;
  const probs = ctx.createStorage('test: naive probs', gpuOps.attentionNaiveProbsFloats(b, l, nHead));
  const commands = [
    ...(await gpuOps.attentionNaiveForward(ctx, buf.out, buf.lse, probs, buf.q, buf.k, buf.v, b, l, nHead, headDim)),
    ...(await gpuOps.attentionNaiveBackward(ctx, buf.dq, buf.dk, buf.dv, buf.dout, buf.q, buf.k, buf.v, buf.wantOut, probs,
      b, l, nHead, headDim)),
  ];
  const got = await runAndRead(ctx, commands, {
    out: [buf.out, want.size], lse: [buf.lse, want.lse.length],
    dq: [buf.dq, want.size], dk: [buf.dk, want.size], dv: [buf.dv, want.size],
  });
  expectAttentionClose(got, want);
}

/** Returns the same tiles for every pass. */
function allPasses(tiles: gpuOps.AttentionTiles): gpuOps.AttentionOptions['tiles'] {
  return { forward: tiles, backward_dq: tiles, backward_dkdv: tiles };
}

/**
 * 8 × 8 tiles for most cases: SwiftShader compiles wider tiles slowly, and
 * lengths 33 and 130 still end inside a partial tile.
 */
const EIGHT = allPasses({ queryRows: 8, keyRows: 8, workgroupSize: 64 });

describe('tiled attention kernels', () => {
  it('tiled attention at length 1', async () => {
    await checkTiled(1, { b: 2, l: 1, nHead: 3, headDim: 8 });
  });

  it('tiled attention at length 7, head_dim 3', async () => {
    await checkTiled(2, { b: 2, l: 7, nHead: 2, headDim: 3 });
  });

  it('tiled attention at head_dim 1', async () => {
    await checkTiled(3, { b: 2, l: 33, nHead: 4, headDim: 1 }, EIGHT);
  });

  it('tiled attention at length 33, head_dim 16', async () => {
    await checkTiled(4, { b: 2, l: 33, nHead: 3, headDim: 16 }, EIGHT);
  });

  it('tiled attention at length 130, head_dim 64', async () => {
    await checkTiled(5, { b: 2, l: 130, nHead: 2, headDim: 64 }, EIGHT);
  });

  it('tiled attention at head_dim 5', async () => {
    await checkTiled(6, { b: 2, l: 130, nHead: 2, headDim: 5 }, EIGHT);
  });

  it('tiled attention at head_dim 128', async () => {
    // The tiles chosen for the WebGPU default maxComputeWorkgroupStorageSize of 16384 bytes; this device has more.
    const limits = { maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256 };
    const s = { b: 2, l: 33, nHead: 1, headDim: 128 };
    await checkTiled(7, s, {
      forward: gpuOps.chooseAttentionTiles(limits, 'forward', s.headDim, s.l),
      backward_dq: gpuOps.chooseAttentionTiles(limits, 'backward_dq', s.headDim, s.l),
      backward_dkdv: gpuOps.chooseAttentionTiles(limits, 'backward_dkdv', s.headDim, s.l),
    });
  });

  it('tiled attention with non-square tiles', async () => {
    const s = { b: 2, l: 33, nHead: 2, headDim: 5 };
    await checkTiled(8, s, allPasses({ queryRows: 8, keyRows: 4, workgroupSize: 32 }));
    await checkTiled(9, s, allPasses({ queryRows: 2, keyRows: 16, workgroupSize: 64 }));
  });

  it('tiled attention with fewer invocations than scores', async () => {
    await checkTiled(10, { b: 2, l: 33, nHead: 2, headDim: 8 }, allPasses({ queryRows: 16, keyRows: 16, workgroupSize: 32 }));
  });

  it('tiled attention with chosen tiles', async () => {
    await checkTiled(11, { b: 1, l: 130, nHead: 2, headDim: 16 });
  });
});

describe('naive attention kernels', () => {
  it('naive attention at length 1', async () => {
    await checkNaive(21, { b: 2, l: 1, nHead: 3, headDim: 8 });
  });

  it('naive attention at length 7, head_dim 3', async () => {
    await checkNaive(22, { b: 2, l: 7, nHead: 2, headDim: 3 });
  });

  it('naive attention at head_dim 1', async () => {
    await checkNaive(23, { b: 2, l: 33, nHead: 4, headDim: 1 });
  });

  it('naive attention at length 130, head_dim 64', async () => {
    await checkNaive(24, { b: 2, l: 130, nHead: 2, headDim: 64 });
  });

  it('naive attention at head_dim 16', async () => {
    await checkNaive(25, { b: 2, l: 33, nHead: 3, headDim: 16 });
  });
});

describe('attention equivalence', () => {
  it('tiled attention equals naive attention', async () => {
    const { ctx } = gpu;
    const s = { b: 2, l: 65, nHead: 3, headDim: 16 };
    const { b, l, nHead, headDim } = s;
    const inputs = referenceAttention(31, s);
    const tiled = attentionBuffers(inputs, s, 'tiled');
    const naive = attentionBuffers(inputs, s, 'naive');
    const probs = ctx.createStorage('test: naive probs', gpuOps.attentionNaiveProbsFloats(b, l, nHead));
    // Each backward reads its own forward's out and lse.
    const commands = [
      await gpuOps.attentionForward(ctx, tiled.out, tiled.lse, tiled.q, tiled.k, tiled.v, b, l, nHead, headDim, { tiles: EIGHT }),
      ...(await gpuOps.attentionBackward(ctx, tiled.dq, tiled.dk, tiled.dv, tiled.dout, tiled.q, tiled.k, tiled.v, tiled.out,
        tiled.lse, b, l, nHead, headDim, { tiles: EIGHT })),
      ...(await gpuOps.attentionNaiveForward(ctx, naive.out, naive.lse, probs, naive.q, naive.k, naive.v, b, l, nHead, headDim)),
      ...(await gpuOps.attentionNaiveBackward(ctx, naive.dq, naive.dk, naive.dv, naive.dout, naive.q, naive.k, naive.v, naive.out,
        probs, b, l, nHead, headDim)),
    ];
    const reads: Record<string, [GPUBuffer, number]> = {};
    for (const [name, buf] of [['tiled', tiled], ['naive', naive]] as const) {
      reads[`${name} out`] = [buf.out, inputs.size];
      reads[`${name} lse`] = [buf.lse, inputs.lse.length];
      for (const grad of ['dq', 'dk', 'dv'] as const) reads[`${name} ${grad}`] = [buf[grad], inputs.size];
    }
    const got = await runAndRead(ctx, commands, reads);
    for (const tensor of ['out', 'lse', 'dq', 'dk', 'dv']) {
      expectClose(tensor, got[`tiled ${tensor}`], got[`naive ${tensor}`]);
    }
  });
});

describe('attention tile choice', () => {
  const small = { maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256 };
  const large = { maxComputeWorkgroupStorageSize: 32768, maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupSizeX: 1024 };

  it('tile choice fits workgroup memory', () => {
    for (const limits of [small, large]) {
      for (const pass of ['forward', 'backward_dq', 'backward_dkdv'] as const) {
        for (const headDim of [1, 3, 5, 8, 16, 64, 128]) {
          for (const l of [1, 7, 130, 4096]) {
            const tiles = gpuOps.chooseAttentionTiles(limits, pass, headDim, l);
            const bytes = gpuOps.attentionWorkgroupBytes(pass, tiles, headDim);
            expect(bytes, `${pass} head_dim ${headDim} l ${l}`).toBeLessThanOrEqual(limits.maxComputeWorkgroupStorageSize);
            expect(tiles.queryRows, `${pass} head_dim ${headDim} l ${l}`).toBeLessThanOrEqual(Math.max(1, 2 ** Math.ceil(Math.log2(l))));
            expect(tiles.workgroupSize).toBeLessThanOrEqual(256);
          }
        }
      }
    }
  });

  it('tile choice grows with workgroup memory', () => {
    const tilesSmall = gpuOps.chooseAttentionTiles(small, 'backward_dkdv', 128, 1024);
    const tilesLarge = gpuOps.chooseAttentionTiles(large, 'backward_dkdv', 128, 1024);
    expect(tilesSmall.queryRows).toBe(4);
    expect(tilesLarge.queryRows).toBe(8);
  });

  it('tile choice rejects oversized head_dim', () => {
    expect(() => gpuOps.chooseAttentionTiles(small, 'backward_dkdv', 4096, 64)).toThrow(/maxComputeWorkgroupStorageSize of 16384/);
  });
});

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

describe('position embedding kernels', () => {
  /** W (maxLen, dim) sits at float offset 64 of a parameter-like buffer, and the sequences use only its first l rows. */
  async function check(seed: number, b: number, l: number, dim: number, maxLen: number) {
    const { ctx } = gpu;
    const rng = new Rng(seed);
    const offset = 64;
    const params = randomArray(rng, offset + maxLen * dim + 3);
    const W = params.subarray(offset, offset + maxLen * dim);
    const x = randomArray(rng, b * l * dim);
    const dout = randomArray(rng, b * l * dim);
    const grads = randomArray(rng, params.length);

    const wantOut = x.slice();
    positionEmbeddingForward(wantOut, W, b, l, dim);
    const wantGrads = grads.slice();
    positionEmbeddingBackward(wantGrads.subarray(offset, offset + maxLen * dim), dout, b, l, dim);

    const outBuf = ctx.upload('test: position out', x);
    const gradBuf = ctx.upload('test: position grads', grads);
    const commands = [
      await gpuOps.positionEmbeddingForward(ctx, outBuf, { buffer: ctx.upload('test: position params', params), offset }, b, l, dim),
      await gpuOps.positionEmbeddingBackward(ctx, { buffer: gradBuf, offset }, ctx.upload('test: position dout', dout), b, l, dim),
    ];
    const got = await runAndRead(ctx, commands, { out: [outBuf, x.length], grads: [gradBuf, grads.length] });
    expectClose('out', got.out, wantOut);
    // Gradients outside rows 0..l−1 of W must keep their values exactly.
    expectClose('grads', got.grads, wantGrads);
    expectClose('grads past row l', got.grads.subarray(offset + l * dim), grads.subarray(offset + l * dim), { rtol: 0, atolFactor: 0 });
  }

  it('position embedding at length 7', async () => {
    await check(61, 3, 7, 5, 9);
  });

  it('position embedding at length 1', async () => {
    await check(62, 2, 1, 8, 4);
  });
});
