import { afterAll, beforeAll, describe, it } from 'vitest';
import { Rng } from '../../model/random';
import * as gpuOps from './kernels';
import { expectClose, openGpu, randomArray, runAndRead, type GpuFixture } from './testing';

let gpu: GpuFixture;
beforeAll(async () => {
  gpu = await openGpu();
});
afterAll(() => gpu?.close());

describe('reduce rows kernel', () => {
  /** Checks out[offset + j] += Σ_r a[r, j] (· b[r, j]) against a plain loop, with `out` starting non-zero. */
  async function check(seed: number, rows: number, cols: number, weighted: boolean) {
    const { ctx } = gpu;
    const rng = new Rng(seed);
    const a = randomArray(rng, rows * cols);
    const b = randomArray(rng, rows * cols);
    // The output sits at an unaligned offset of a larger buffer, as a gradient does.
    const offset = 3;
    const outStart = randomArray(rng, offset + cols + 2, 0.1);

    const want = outStart.slice();
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < cols; j++) want[offset + j] += a[r * cols + j] * (weighted ? b[r * cols + j] : 1);
    }

    const outBuf = ctx.upload('test: out', outStart);
    const dispatch = await gpuOps.reduceRows(ctx, { buffer: outBuf, offset }, ctx.upload('test: a', a),
      weighted ? ctx.upload('test: b', b) : null, rows, cols);
    const got = await runAndRead(ctx, [dispatch], { out: [outBuf, outStart.length] });
    expectClose('out', got.out, want);
  }

  it('reduce rows with weights', async () => {
    await check(81, 37, 5, true);
  });

  it('reduce rows over many columns', async () => {
    // 300 columns need several workgroups of 64 invocations.
    await check(82, 3, 300, false);
  });

  it('reduce rows with one row', async () => {
    await check(83, 1, 1, true);
  });

  it('reduce rows over many rows', async () => {
    await check(84, 1000, 7, false);
  });
});
