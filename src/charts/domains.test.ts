import { describe, expect, it } from 'vitest';
import { lineXDomain, lineYDomain, logDomain, logLogSlope, symmetricDomain, thinTicks } from './domains';

describe('logDomain', () => {
  it('spans positive values', () => {
    expect(logDomain([new Float32Array([0.5, 0.01, 2])])).toEqual([Math.fround(0.01), 2]);
  });

  it('ignores zero, negative and non-finite values', () => {
    expect(logDomain([[0, -1, NaN, Infinity, 0.1, 0.4]])).toEqual([0.1, 0.4]);
  });

  it('spans several arrays', () => {
    expect(logDomain([[0.2], [0.05, 3]])).toEqual([0.05, 3]);
  });

  it('widens a constant series', () => {
    const [lo, hi] = logDomain([[0.1, 0.1]]);
    expect(lo).toBeCloseTo(0.1 / Math.sqrt(10));
    expect(hi).toBeCloseTo(0.1 * Math.sqrt(10));
  });

  it('falls back without positive values', () => {
    expect(logDomain([[0, -2]])).toEqual([0.001, 1]);
    expect(logDomain([])).toEqual([0.001, 1]);
  });
});

describe('symmetricDomain', () => {
  it('centres on zero', () => {
    expect(symmetricDomain([[-0.5, 2, 1]])).toEqual([-2, 2]);
    expect(symmetricDomain([[-3, 1]])).toEqual([-3, 3]);
  });

  it('falls back to one when all zero', () => {
    expect(symmetricDomain([[0, 0]])).toEqual([-1, 1]);
    expect(symmetricDomain([[NaN]])).toEqual([-1, 1]);
  });
});

describe('lineYDomain', () => {
  it('pads a linear range by 5%', () => {
    const [lo, hi] = lineYDomain([1, 3], 'linear');
    expect(lo).toBeCloseTo(0.9);
    expect(hi).toBeCloseTo(3.1);
  });

  it('pads a log range by a factor', () => {
    const [lo, hi] = lineYDomain([0.5, 0, -1, 2], 'log');
    expect(lo).toBeCloseTo(0.5 / 1.1);
    expect(hi).toBeCloseTo(2.2);
  });

  it('widens a constant linear series', () => {
    expect(lineYDomain([2, 2], 'linear')).toEqual([1.8, 2.2]);
    expect(lineYDomain([0], 'linear')).toEqual([-1, 1]);
  });

  it('returns a default for an empty series', () => {
    expect(lineYDomain([], 'linear')).toEqual([0, 1]);
    expect(lineYDomain([NaN], 'log')).toEqual([0.01, 10]);
  });
});

describe('lineXDomain', () => {
  it('spans the values', () => {
    expect(lineXDomain([30, 60, 90])).toEqual([30, 90]);
  });

  it('starts a single positive step at 0', () => {
    expect(lineXDomain([30])).toEqual([0, 30]);
  });

  it('widens a single zero or negative value by one', () => {
    expect(lineXDomain([0])).toEqual([0, 1]);
    expect(lineXDomain([-2])).toEqual([-2, -1]);
  });

  it('returns [0, 1] without finite values', () => {
    expect(lineXDomain([])).toEqual([0, 1]);
    expect(lineXDomain([NaN])).toEqual([0, 1]);
  });
});

describe('thinTicks', () => {
  it('keeps short lists', () => {
    expect(thinTicks([1, 2, 3], 5)).toEqual([1, 2, 3]);
  });

  it('keeps every k-th tick from the first', () => {
    expect(thinTicks([1, 2, 3, 4, 5, 6, 7], 3)).toEqual([1, 4, 7]);
    expect(thinTicks([1, 2, 3, 4, 5, 6], 4)).toEqual([1, 3, 5]);
  });
});

describe('logLogSlope', () => {
  it('fits slope 1 and 2 on power laws', () => {
    const xs = [256, 512, 1024, 2048];
    expect(logLogSlope(xs.map((x) => ({ x, y: 3 * x })))).toBeCloseTo(1, 10);
    expect(logLogSlope(xs.map((x) => ({ x, y: 0.5 * x * x })))).toBeCloseTo(2, 10);
  });

  it('ignores unmeasured points and needs two', () => {
    expect(logLogSlope([{ x: 1, y: 2 }, { x: 4, y: null }])).toBeNull();
    expect(logLogSlope([{ x: 1, y: 2 }, { x: 2, y: 4 }, { x: 4, y: null }])).toBeCloseTo(1, 10);
  });
});
