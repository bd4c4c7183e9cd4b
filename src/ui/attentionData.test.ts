import { describe, expect, it } from 'vitest';
import { attentionColumns, attentionDomain } from './attentionData';

describe('attentionColumns', () => {
  // Two heads over l = 2: head 0 attends to itself, head 1 spreads evenly.
  const weights = Float32Array.from([1, 0, 0, 1, 1, 0, 0.5, 0.5]);

  it('puts query rows under key columns for one head', () => {
    expect(Array.from(attentionColumns(weights, 2, 2, 0))).toEqual([1, 0, 0, 1]);
    expect(Array.from(attentionColumns(weights, 2, 2, 1))).toEqual([1, 0.5, 0, 0.5]);
  });

  it('averages the heads', () => {
    expect(Array.from(attentionColumns(weights, 2, 2, 'mean'))).toEqual([1, 0.25, 0, 0.75]);
  });

  it('rejects weights of the wrong size', () => {
    expect(() => attentionColumns(weights, 3, 2, 0)).toThrow(/n_head · l · l = 18/);
  });
});

describe('attentionDomain', () => {
  it('starts at the smallest positive weight and ends at 1', () => {
    expect(attentionDomain([Float32Array.from([0, 0.25, 1])])).toEqual([0.25, 1]);
    expect(attentionDomain([Float32Array.from([0, 1e-9, 1])])).toEqual([1e-4, 1]);
  });
});
