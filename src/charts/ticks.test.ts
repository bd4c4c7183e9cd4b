import { describe, expect, it } from 'vitest';
import { formatPowerOfTwo, formatTick, integerTicks, logTicks, powerOfTwoTicks } from './ticks';

describe('integerTicks', () => {
  it('keeps integers on a short step range', () => {
    expect(integerTicks([30, 31], 5)).toEqual([30, 31]);
    expect(integerTicks([0, 1], 5)).toEqual([0, 1]);
  });

  it('follows d3 ticks on a long range', () => {
    expect(integerTicks([0, 2000], 4)).toEqual([0, 500, 1000, 1500, 2000]);
  });

  it('covers cell centres of a heatmap', () => {
    expect(integerTicks([-0.5, 23.5], 5)).toEqual([0, 5, 10, 15, 20]);
  });

  it('returns nothing between two integers', () => {
    expect(integerTicks([0.2, 0.8], 5)).toEqual([]);
  });

  it('accepts a reversed domain', () => {
    expect(integerTicks([3, 0], 3)).toEqual([0, 1, 2, 3]);
  });
});

describe('logTicks', () => {
  it('prefers powers of ten', () => {
    expect(logTicks([0.0008, 0.3], 6)).toEqual([0.001, 0.01, 0.1]);
  });

  it('thins powers of ten to the maximum', () => {
    expect(logTicks([1e-9, 2], 3)).toEqual([1e-9, 1e-5, 0.1]);
  });

  it('falls back to 1-2-5 ticks within a decade', () => {
    const ticks = logTicks([0.02, 0.09], 3);
    expect(ticks.length).toBeGreaterThan(0);
    expect(ticks.length).toBeLessThanOrEqual(3);
    for (const tick of ticks) {
      expect(tick).toBeGreaterThanOrEqual(0.02);
      expect(tick).toBeLessThanOrEqual(0.09);
    }
  });
});

describe('formatTick', () => {
  it('writes small values with an exponent', () => {
    expect(formatTick(1e-6)).toBe('1e-6');
    expect(formatTick(1e-8)).toBe('1e-8');
    expect(formatTick(2.5e-5)).toBe('2.5e-5');
  });

  it('writes mid-range values in digits', () => {
    expect(formatTick(0.001)).toBe('0.001');
    expect(formatTick(0.01)).toBe('0.01');
    expect(formatTick(1)).toBe('1');
    expect(formatTick(250)).toBe('250');
  });

  it('writes large values with an SI suffix', () => {
    expect(formatTick(2000)).toBe('2k');
    expect(formatTick(12_500)).toBe('12.5k');
  });

  it('writes zero as 0', () => {
    expect(formatTick(0)).toBe('0');
  });
});

describe('powerOfTwoTicks', () => {
  it('lists every power inside', () => {
    expect(powerOfTwoTicks([64, 1024], 10)).toEqual([64, 128, 256, 512, 1024]);
    expect(powerOfTwoTicks([100, 600], 10)).toEqual([128, 256, 512]);
  });

  it('thins a long axis', () => {
    expect(powerOfTwoTicks([2 ** 6, 2 ** 20], 5)).toEqual([2 ** 6, 2 ** 9, 2 ** 12, 2 ** 15, 2 ** 18]);
  });

  it('returns nothing for a domain without powers', () => {
    expect(powerOfTwoTicks([5, 7], 4)).toEqual([]);
    expect(powerOfTwoTicks([0, 8], 4)).toEqual([]);
  });
});

describe('formatPowerOfTwo', () => {
  it('writes superscript exponents', () => {
    expect(formatPowerOfTwo(64)).toBe('2⁶');
    expect(formatPowerOfTwo(2 ** 20)).toBe('2²⁰');
    expect(formatPowerOfTwo(1)).toBe('2⁰');
  });

  it('falls back for other values', () => {
    expect(formatPowerOfTwo(100)).toBe('100');
    expect(formatPowerOfTwo(0.5)).toBe('0.5');
  });
});
