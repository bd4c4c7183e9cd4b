import { describe, expect, it } from 'vitest';
import { reasonRuns, ruleLabelLines, shortened } from './multiLineChart';

describe('reasonRuns', () => {
  it('groups equal reasons in x order', () => {
    const skipped = [
      { x: 4096, reason: 'exceeds memory' },
      { x: 512, reason: 'positions beyond max_len' },
      { x: 1024, reason: 'positions beyond max_len' },
      { x: 2048, reason: 'exceeds memory' },
    ];
    expect(reasonRuns(skipped)).toEqual([
      { first: 512, last: 1024, reason: 'positions beyond max_len' },
      { first: 2048, last: 4096, reason: 'exceeds memory' },
    ]);
  });

  it('splits a run that a reason interrupts', () => {
    const skipped = [
      { x: 1, reason: 'a' },
      { x: 2, reason: 'b' },
      { x: 3, reason: 'a' },
    ];
    expect(reasonRuns(skipped).map((run) => run.reason)).toEqual(['a', 'b', 'a']);
  });

  it('returns nothing for no points', () => {
    expect(reasonRuns([])).toEqual([]);
  });
});

describe('shortened', () => {
  it('keeps text that fits', () => {
    expect(shortened('exceeds memory', 14)).toBe('exceeds memory');
  });

  it('cuts with an ellipsis', () => {
    expect(shortened('Attention, rotary: paper (MHA-RoPE): out of memory', 12.7)).toBe('Attention,…');
    expect(shortened('abc', 1)).toBe('');
  });
});

describe('ruleLabelLines', () => {
  it('keeps apart labels that would overlap', () => {
    // The second label starts inside the first; the third is clear of both.
    expect(ruleLabelLines([[10, 90], [60, 140], [200, 280]])).toEqual([0, 1, 0]);
  });

  it('reuses the first free line', () => {
    expect(ruleLabelLines([[0, 100], [50, 150], [120, 200]])).toEqual([0, 1, 0]);
    expect(ruleLabelLines([[0, 100], [10, 110], [20, 120]])).toEqual([0, 1, 2]);
  });
});
