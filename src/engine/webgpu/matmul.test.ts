import { afterAll, beforeAll, describe, it } from 'vitest';
import { matmulBackward, matmulForward } from '../../model/ops';
import { Rng } from '../../model/random';
import { matmulBackward as gpuMatmulBackward, matmulForward as gpuMatmulForward } from './kernels';
import { expectClose, openGpu, randomArray, runAndRead, type GpuFixture } from './testing';

let gpu: GpuFixture;
beforeAll(async () => {
  gpu = await openGpu();
});
afterAll(() => gpu?.close());

/** Runs y = x Wᵀ and its backward over rows wRow..wRow+n of a W with extra rows, against ops.ts. */
async function checkLinear(seed: number, m: number, k: number, n: number, wRow: number, accumulate: boolean) {
  const { ctx } = gpu;
  const rng = new Rng(seed);
  const wRows = wRow + n + 2;
  // The weight sits at an unaligned offset of a larger buffer, as a parameter does.
  const wOffset = 5;
  const wAll = randomArray(rng, wOffset + wRows * k);
  const x = randomArray(rng, m * k);
  const dy = randomArray(rng, m * n);
  const dxStart = randomArray(rng, m * k);
  const dwStart = randomArray(rng, wOffset + wRows * k, 0.1);

  const W = wAll.subarray(wOffset + wRow * k, wOffset + (wRow + n) * k);
  const wantY = new Float32Array(m * n);
  matmulForward(wantY, x, W, m, k, n);
  const wantDx = dxStart.slice();
  const wantDw = dwStart.slice();
  matmulBackward(wantDx, wantDw.subarray(wOffset + wRow * k, wOffset + (wRow + n) * k), dy, x, W, m, k, n, accumulate);

  const wBuf = ctx.upload('test: W', wAll);
  const xBuf = ctx.upload('test: x', x);
  const dyBuf = ctx.upload('test: dy', dy);
  const yBuf = ctx.createStorage('test: y', m * n);
  const dxBuf = ctx.upload('test: dx', dxStart);
  const dwBuf = ctx.upload('test: dW', dwStart);
  const w = { buffer: wBuf, offset: wOffset };
  const commands = [
    await gpuMatmulForward(ctx, yBuf, xBuf, w, m, k, n, { wRow }),
    ...(await gpuMatmulBackward(ctx, dxBuf, { buffer: dwBuf, offset: wOffset }, dyBuf, xBuf, w, m, k, n, accumulate, { wRow })),
  ];
  const got = await runAndRead(ctx, commands, { y: [yBuf, m * n], dx: [dxBuf, m * k], dW: [dwBuf, dwStart.length] });
  expectClose('y', got.y, wantY);
  expectClose('dx', got.dx, wantDx);
  expectClose('dW', got.dW, wantDw);
}

describe('matmul kernel', () => {
  it('matmul on odd sizes', async () => {
    await checkLinear(1, 13, 29, 3, 0, false);
  });

  it('matmul over weight row range', async () => {
    await checkLinear(2, 7, 5, 11, 3, true);
  });

  it('matmul with one row', async () => {
    await checkLinear(3, 1, 1, 1, 1, false);
  });

  it('matmul on multi-tile sizes', async () => {
    await checkLinear(4, 37, 70, 21, 0, true);
  });

  it('matmul over many workgroups', async () => {
    // 300 rows make several row groups with a partial last block; 37 columns a partial last column block.
    await checkLinear(6, 300, 9, 37, 2, true);
  });

  it('matmul just past narrow width', async () => {
    // n = 5 is the narrowest product that uses 8-column blocks, with 3 of 8 columns past the edge.
    await checkLinear(7, 33, 17, 5, 0, false);
  });

  it('matmul at narrow width', async () => {
    // n = 4 and k = 4 use 4-column blocks in the forward product and in dx.
    await checkLinear(8, 19, 4, 4, 1, true);
  });

  it('matmul on strided column slices', async () => {
    // y and x are column slices of wider rows, as Δ's low-rank part is of x_proj's output.
    const { ctx } = gpu;
    const rng = new Rng(5);
    const m = 9, k = 3, n = 6, xStride = 11, xCol = 0, yStride = 8, yCol = 2;
    const xWide = randomArray(rng, m * xStride);
    const W = randomArray(rng, n * k);
    const dy = randomArray(rng, m * n);
    const x = new Float32Array(m * k);
    for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) x[i * k + p] = xWide[i * xStride + xCol + p];

    const wantY = new Float32Array(m * n);
    matmulForward(wantY, x, W, m, k, n);
    const wantDx = new Float32Array(m * k);
    const wantDw = new Float32Array(n * k);
    matmulBackward(wantDx, wantDw, dy, x, W, m, k, n, false);

    const xBuf = ctx.upload('test: x wide', xWide);
    const wBuf = ctx.upload('test: W', W);
    const yBuf = ctx.createStorage('test: y wide', m * yStride);
    const dyBuf = ctx.upload('test: dy', dy);
    const dxBuf = ctx.createStorage('test: dx wide', m * xStride);
    const dwBuf = ctx.createStorage('test: dW', n * k);
    const commands = [
      await gpuMatmulForward(ctx, { buffer: yBuf, offset: yCol }, { buffer: xBuf, offset: xCol }, wBuf, m, k, n,
        { xRowStride: xStride, yRowStride: yStride }),
      ...(await gpuMatmulBackward(ctx, { buffer: dxBuf, offset: xCol }, dwBuf, dyBuf, { buffer: xBuf, offset: xCol }, wBuf,
        m, k, n, false, { xRowStride: xStride, dxRowStride: xStride })),
    ];
    const got = await runAndRead(ctx, commands, { y: [yBuf, m * yStride], dx: [dxBuf, m * xStride], dW: [dwBuf, n * k] });
    const gotY = new Float32Array(m * n);
    const gotDx = new Float32Array(m * k);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) gotY[i * n + j] = got.y[i * yStride + yCol + j];
      for (let p = 0; p < k; p++) gotDx[i * k + p] = got.dx[i * xStride + xCol + p];
    }
    expectClose('y', gotY, wantY);
    expectClose('dx', gotDx, wantDx);
    expectClose('dW', got.dW, wantDw);
  });
});
