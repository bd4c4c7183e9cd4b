import { describe, expect, it } from 'vitest';
import { isMemorySkip, memoryBands, sharedSkipReason, spreadLabels, type LogLogPoint } from './logLogMarks';

describe('spreadLabels', () => {
  it('keeps labels that are far apart', () => {
    expect(spreadLabels([10, 50, 90], 12, 0, 100)).toEqual([10, 50, 90]);
  });

  it('pushes close labels apart in their order', () => {
    const spread = spreadLabels([40, 38, 41], 12, 0, 200);
    // The label at 38 stays first from the top, then 40, then 41.
    expect(spread[1]).toBe(38);
    expect(spread[0]).toBe(50);
    expect(spread[2]).toBe(62);
  });

  it('pulls labels back above the bottom edge', () => {
    const spread = spreadLabels([98, 99, 100], 10, 0, 100);
    expect(spread).toEqual([80, 90, 100]);
  });

  it('clamps labels outside the range', () => {
    expect(spreadLabels([-20, 300], 10, 0, 100)).toEqual([0, 100]);
  });

  it('spaces labels from the top when they cannot fit', () => {
    expect(spreadLabels([5, 5, 5], 10, 0, 15)).toEqual([0, 10, 20]);
  });

  it('returns nothing for no labels', () => {
    expect(spreadLabels([], 10, 0, 100)).toEqual([]);
  });
});

describe('isMemorySkip', () => {
  it('recognises memory reasons only', () => {
    expect(isMemorySkip('exceeds device memory (needs 4.3 GB)')).toBe(true);
    expect(isMemorySkip("skipped to bound the sweep's time")).toBe(false);
    expect(isMemorySkip(undefined)).toBe(false);
  });
});

const memory = 'exceeds device memory (needs 17 GB)';
const points = (ys: (number | null)[], xs = [256, 512, 1024, 2048], skipped = memory): LogLogPoint[] =>
  xs.map((x, i) => (ys[i] === null ? { x, y: null, skipped } : { x, y: ys[i] }));

describe('memoryBands', () => {
  it('shades from halfway before the first skipped length to the last length', () => {
    const bands = memoryBands([
      { name: 'mamba', points: points([1, 2, 4, 8]) },
      { name: 'naive attention', points: points([1, 4, null, null]) },
    ]);
    expect(bands).toHaveLength(1);
    expect(bands[0].first).toBe(1024);
    expect(bands[0].last).toBe(2048);
    expect(bands[0].left).toBeCloseTo(Math.sqrt(512 * 1024));
    expect(bands[0].right).toBe(2048);
    expect(bands[0].series).toEqual(['naive attention']);
  });

  it('joins the series of one run in series order', () => {
    const bands = memoryBands([
      { name: 'tiled', points: points([1, 2, 4, null]) },
      { name: 'naive', points: points([1, 2, null, null]) },
    ]);
    expect(bands).toHaveLength(1);
    expect(bands[0].first).toBe(1024);
    expect(bands[0].series).toEqual(['tiled', 'naive']);
  });

  it('splits runs separated by a measured length', () => {
    const bands = memoryBands([{ name: 'a', points: points([null, 2, null, 4]) }]);
    expect(bands.map((b) => [b.first, b.last])).toEqual([
      [256, 256],
      [1024, 1024],
    ]);
    expect(bands[0].left).toBe(256);
    expect(bands[0].right).toBeCloseTo(Math.sqrt(256 * 512));
    expect(bands[1].right).toBeCloseTo(Math.sqrt(1024 * 2048));
  });

  it('ignores skips for other reasons', () => {
    expect(memoryBands([{ name: 'a', points: points([1, null, null, null], undefined, 'skipped to bound the time') }])).toEqual([]);
  });
});

describe('sharedSkipReason', () => {
  it('returns the reason of a series skipped everywhere', () => {
    expect(sharedSkipReason(points([null, null], [16, 32], 'decoding is not measured yet'))).toBe('decoding is not measured yet');
  });

  it('returns null for a series measured somewhere', () => {
    expect(sharedSkipReason(points([1, null], [16, 32]))).toBeNull();
  });

  it('returns null when reasons differ', () => {
    expect(sharedSkipReason([{ x: 1, y: null, skipped: 'a' }, { x: 2, y: null, skipped: 'b' }])).toBeNull();
  });
});
