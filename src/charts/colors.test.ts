import { describe, expect, it } from 'vitest';
import { buildColorTable, colorPosition, colorTableIndex, COLOR_TABLE_SIZE } from './colors';

describe('colorPosition', () => {
  it('maps a log domain evenly per decade', () => {
    expect(colorPosition('log-sequential', [0.001, 1], 0.001)).toBeCloseTo(0);
    expect(colorPosition('log-sequential', [0.001, 1], 0.01)).toBeCloseTo(1 / 3);
    expect(colorPosition('log-sequential', [0.001, 1], 1)).toBeCloseTo(1);
  });

  it('puts zero in the middle of a diverging domain', () => {
    expect(colorPosition('diverging', [-2, 2], 0)).toBeCloseTo(0.5);
    expect(colorPosition('diverging', [-2, 2], -2)).toBeCloseTo(0);
  });

  it('clamps values outside the domain', () => {
    expect(colorPosition('diverging', [-1, 1], 5)).toBe(1);
    expect(colorPosition('log-sequential', [0.01, 1], 0.0001)).toBe(0);
  });

  it('returns NaN for values without a colour', () => {
    expect(colorPosition('log-sequential', [0.01, 1], 0)).toBeNaN();
    expect(colorPosition('log-sequential', [0.01, 1], -1)).toBeNaN();
    expect(colorPosition('diverging', [-1, 1], NaN)).toBeNaN();
  });
});

describe('buildColorTable', () => {
  it('starts and ends viridis at its endpoints', () => {
    const table = buildColorTable('log-sequential');
    expect(table.length).toBe(COLOR_TABLE_SIZE * 3);
    // d3's viridis runs from #440154 (dark purple) to #fde725 (yellow).
    expect(Array.from(table.subarray(0, 3))).toEqual([0x44, 0x01, 0x54]);
    expect(Array.from(table.subarray(table.length - 3))).toEqual([0xfd, 0xe7, 0x25]);
  });

  it('makes negative values blue on the diverging scale', () => {
    const table = buildColorTable('diverging');
    const [r, , b] = table.subarray(0, 3);
    expect(b).toBeGreaterThan(r);
    const [r1, , b1] = table.subarray(table.length - 3);
    expect(r1).toBeGreaterThan(b1);
  });
});

describe('colorTableIndex', () => {
  it('covers the table', () => {
    expect(colorTableIndex(0)).toBe(0);
    expect(colorTableIndex(1)).toBe(COLOR_TABLE_SIZE - 1);
    expect(colorTableIndex(2)).toBe(COLOR_TABLE_SIZE - 1);
  });
});
