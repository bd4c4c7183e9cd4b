import { describe, expect, it } from 'vitest';
import type { TaskConfig } from '../tasks';
import { channelStates, probeAnswers, stateNorms, tokenLabels } from './probeData';

const copying: TaskConfig = { kind: 'selective-copying', vocab_size: 6, n_data: 2 };
const induction: TaskConfig = { kind: 'induction-heads', vocab_size: 6 };

describe('tokenLabels', () => {
  it('labels tokens with their roles', () => {
    const labels = tokenLabels(copying, { tokens: [0, 3, 0, 5], roles: ['noise', 'data', 'noise', 'marker'] });
    expect(labels).toEqual([
      { text: '·', role: 'noise' },
      { text: '3', role: 'data' },
      { text: '·', role: 'noise' },
      { text: '▶', role: 'marker' },
    ]);
  });

  it('prints a token outside the vocabulary as its id', () => {
    expect(tokenLabels(copying, { tokens: [9], roles: ['data'] })[0].text).toBe('9');
  });
});

describe('channelStates', () => {
  it('picks one channel from (l, d_inner, d_state)', () => {
    // l = 2, d_inner = 3, d_state = 2; value = 100 t + 10 c + n.
    const states = new Float32Array(12);
    for (let t = 0; t < 2; t++) for (let c = 0; c < 3; c++) for (let n = 0; n < 2; n++) states[(t * 3 + c) * 2 + n] = 100 * t + 10 * c + n;
    expect(Array.from(channelStates(states, 2, 3, 2, 1))).toEqual([10, 11, 110, 111]);
  });
});

describe('stateNorms', () => {
  it('returns the norm at each position', () => {
    const norms = stateNorms(new Float32Array([3, 4, 0, 0]), 2, 2);
    expect(norms).toEqual([
      { x: 0, y: 5 },
      { x: 1, y: 0 },
    ]);
  });
});

describe('probeAnswers', () => {
  it('pairs markers with data tokens in order', () => {
    const answers = probeAnswers(copying, {
      tokens: [2, 0, 4, 5, 5],
      roles: ['data', 'noise', 'data', 'marker', 'marker'],
      predictions: [0, 0, 0, 2, 1],
    });
    expect(answers).toEqual([
      { position: 3, predicted: 2, expected: 2 },
      { position: 4, predicted: 1, expected: 4 },
    ]);
  });

  it('expects the recall token at the end for induction heads', () => {
    const answers = probeAnswers(induction, {
      tokens: [1, 5, 3, 2, 5],
      roles: ['token', 'trigger', 'recall', 'token', 'trigger'],
      predictions: [0, 0, 0, 0, 3],
    });
    expect(answers).toEqual([{ position: 4, predicted: 3, expected: 3 }]);
  });
});
