import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConfigError } from '../model/config';
import { Rng } from '../model/random';
import {
  describeToken,
  generateBatch,
  probeSequence,
  taskLabel,
  validateTask,
  type TaskConfig,
} from './index';

/** Valid selective copying configs with a seq_len that fits them. */
const selectiveCopyingCase = fc
  .record({
    vocab_size: fc.integer({ min: 3, max: 40 }),
    n_data: fc.integer({ min: 1, max: 12 }),
    extraContext: fc.integer({ min: 0, max: 40 }),
    batchSize: fc.integer({ min: 1, max: 6 }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  })
  .map(({ vocab_size, n_data, extraContext, batchSize, seed }) => ({
    task: { kind: 'selective-copying', vocab_size, n_data } as const,
    seqLen: 2 * n_data + extraContext,
    batchSize,
    seed,
  }));

const inductionHeadsCase = fc
  .record({
    vocab_size: fc.integer({ min: 3, max: 40 }),
    seqLen: fc.integer({ min: 4, max: 80 }),
    batchSize: fc.integer({ min: 1, max: 6 }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  })
  .map(({ vocab_size, seqLen, batchSize, seed }) => ({
    task: { kind: 'induction-heads', vocab_size } as const,
    seqLen,
    batchSize,
    seed,
  }));

/** Returns row b of a token-major (batch, seqLen) array. */
function row<T extends Int32Array | Float32Array>(values: T, b: number, seqLen: number): T {
  return values.subarray(b * seqLen, (b + 1) * seqLen) as T;
}

function maskedPositions(mask: Float32Array): number[] {
  const positions: number[] = [];
  mask.forEach((value, t) => {
    if (value !== 0) positions.push(t);
  });
  return positions;
}

/** Checks that every unmasked target is the next input token, or 0 at the end. */
function expectShiftedTargets(tokens: Int32Array, targets: Int32Array, mask: Float32Array): void {
  for (let t = 0; t < tokens.length; t++) {
    if (mask[t] !== 0) continue;
    expect(targets[t]).toBe(t + 1 < tokens.length ? tokens[t + 1] : 0);
  }
}

describe('selective copying', () => {
  it('selective copying batch has token-major shape', () => {
    const task: TaskConfig = { kind: 'selective-copying', vocab_size: 16, n_data: 8 };
    const batch = generateBatch(task, 5, 64, new Rng(1));
    expect(batch.inputs.length).toBe(5 * 64);
    expect(batch.targets.length).toBe(5 * 64);
    expect(batch.mask.length).toBe(5 * 64);
  });

  it('selective copying structure holds for random configs', () => {
    fc.assert(
      fc.property(selectiveCopyingCase, ({ task, seqLen, batchSize, seed }) => {
        const batch = generateBatch(task, batchSize, seqLen, new Rng(seed));
        const marker = task.vocab_size - 1;
        const contextLength = seqLen - task.n_data;

        for (let b = 0; b < batchSize; b++) {
          const tokens = row(batch.inputs, b, seqLen);
          const targets = row(batch.targets, b, seqLen);
          const mask = row(batch.mask, b, seqLen);
          const context = Array.from(tokens.subarray(0, contextLength));
          const data = context.filter((token) => token !== 0);

          expect(data.length).toBe(task.n_data);
          for (const token of data) {
            expect(token).toBeGreaterThanOrEqual(1);
            expect(token).toBeLessThanOrEqual(task.vocab_size - 2);
          }
          expect(Array.from(tokens.subarray(contextLength))).toEqual(new Array(task.n_data).fill(marker));
          expect(maskedPositions(mask)).toEqual(Array.from({ length: task.n_data }, (_, i) => contextLength + i));
          expect(Array.from(targets.subarray(contextLength))).toEqual(data);
          expectShiftedTargets(tokens, targets, mask);
        }
      }),
    );
  });

  it('selective copying answers follow data order', () => {
    const task: TaskConfig = { kind: 'selective-copying', vocab_size: 16, n_data: 4 };
    const sequence = probeSequence(task, 20, 7);
    const dataInOrder = Array.from(sequence.tokens.subarray(0, 16)).filter((token) => token !== 0);
    const answers = Array.from(sequence.targets.subarray(16));
    expect(dataInOrder.length).toBe(4);
    expect(answers).toEqual(dataInOrder);
  });

  it('selective copying mask counts n_data', () => {
    const task: TaskConfig = { kind: 'selective-copying', vocab_size: 16, n_data: 8 };
    const batch = generateBatch(task, 16, 64, new Rng(3));
    const total = batch.mask.reduce((sum, value) => sum + value, 0);
    expect(total).toBe(16 * 8);
    for (const value of batch.mask) expect(value === 0 || value === 1).toBe(true);
  });

  it('selective copying fills context at minimum length', () => {
    // seq_len = 2 * n_data leaves no room for noise, so the context is all data.
    const task: TaskConfig = { kind: 'selective-copying', vocab_size: 5, n_data: 6 };
    const sequence = probeSequence(task, 12, 11);
    for (const token of sequence.tokens.subarray(0, 6)) expect(token).not.toBe(0);
    expect(Array.from(sequence.targets.subarray(6))).toEqual(Array.from(sequence.tokens.subarray(0, 6)));
  });

  it('selective copying roles match tokens', () => {
    const task: TaskConfig = { kind: 'selective-copying', vocab_size: 16, n_data: 8 };
    const sequence = probeSequence(task, 64, 1);
    expect(sequence.roles.length).toBe(64);
    sequence.tokens.forEach((token, t) => {
      let expected = 'data';
      if (token === 0) expected = 'noise';
      if (token === 15) expected = 'marker';
      expect(sequence.roles[t]).toBe(expected);
    });
    expect(sequence.roles.filter((role) => role === 'data').length).toBe(8);
    expect(sequence.roles.filter((role) => role === 'marker').length).toBe(8);
  });

  it('selective copying draws every data token', () => {
    const task: TaskConfig = { kind: 'selective-copying', vocab_size: 8, n_data: 4 };
    const batch = generateBatch(task, 200, 24, new Rng(5));
    const seen = new Set(Array.from(batch.inputs).filter((token) => token >= 1 && token <= 6));
    expect([...seen].sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('induction heads', () => {
  it('induction heads structure holds for random configs', () => {
    fc.assert(
      fc.property(inductionHeadsCase, ({ task, seqLen, batchSize, seed }) => {
        const batch = generateBatch(task, batchSize, seqLen, new Rng(seed));
        const trigger = task.vocab_size - 1;

        for (let b = 0; b < batchSize; b++) {
          const tokens = row(batch.inputs, b, seqLen);
          const targets = row(batch.targets, b, seqLen);
          const mask = row(batch.mask, b, seqLen);
          const triggers = maskedPositions(Float32Array.from(tokens, (token) => (token === trigger ? 1 : 0)));

          expect(triggers.length).toBe(2);
          expect(triggers[0]).toBeLessThanOrEqual(seqLen - 3);
          expect(triggers[1]).toBe(seqLen - 1);
          for (const token of tokens) {
            expect(token).toBeGreaterThanOrEqual(0);
            expect(token).toBeLessThan(task.vocab_size);
          }
          expect(maskedPositions(mask)).toEqual([seqLen - 1]);
          expect(targets[seqLen - 1]).toBe(tokens[triggers[0] + 1]);
          expectShiftedTargets(tokens, targets, mask);
        }
      }),
    );
  });

  it('induction heads roles mark trigger and recall', () => {
    const task: TaskConfig = { kind: 'induction-heads', vocab_size: 16 };
    const sequence = probeSequence(task, 64, 2);
    const first = sequence.tokens.indexOf(15);
    expect(sequence.roles[first]).toBe('trigger');
    expect(sequence.roles[first + 1]).toBe('recall');
    expect(sequence.roles[63]).toBe('trigger');
    expect(sequence.roles.filter((role) => role === 'token').length).toBe(61);
  });

  it('induction heads places trigger everywhere allowed', () => {
    // With seq_len 6 the first trigger may sit at 0, 1, 2 or 3.
    const task: TaskConfig = { kind: 'induction-heads', vocab_size: 4 };
    const batch = generateBatch(task, 400, 6, new Rng(9));
    const positions = new Set<number>();
    for (let b = 0; b < 400; b++) positions.add(row(batch.inputs, b, 6).indexOf(3));
    expect([...positions].sort()).toEqual([0, 1, 2, 3]);
  });
});

describe('generation determinism', () => {
  const tasks: TaskConfig[] = [
    { kind: 'selective-copying', vocab_size: 16, n_data: 8 },
    { kind: 'induction-heads', vocab_size: 16 },
  ];

  for (const task of tasks) {
    it(`${task.kind} batch repeats for seed`, () => {
      const first = generateBatch(task, 8, 64, new Rng(42));
      const second = generateBatch(task, 8, 64, new Rng(42));
      expect(second.inputs).toEqual(first.inputs);
      expect(second.targets).toEqual(first.targets);
      expect(second.mask).toEqual(first.mask);
    });

    it(`${task.kind} batch differs across seeds`, () => {
      const first = generateBatch(task, 8, 64, new Rng(42));
      const second = generateBatch(task, 8, 64, new Rng(43));
      expect(second.inputs).not.toEqual(first.inputs);
    });

    it(`${task.kind} probe repeats for seed`, () => {
      const first = probeSequence(task, 64, 5);
      const second = probeSequence(task, 64, 5);
      expect(second.tokens).toEqual(first.tokens);
      expect(second.roles).toEqual(first.roles);
      expect(probeSequence(task, 64, 6).tokens).not.toEqual(first.tokens);
    });
  }

  it('selective copying batch matches pinned values', () => {
    // Pins the generator so browser and Node runs of the same seed stay comparable.
    const task: TaskConfig = { kind: 'selective-copying', vocab_size: 6, n_data: 2 };
    const batch = generateBatch(task, 1, 8, new Rng(1));
    expect(Array.from(batch.inputs)).toEqual([4, 0, 0, 0, 3, 0, 5, 5]);
    expect(Array.from(batch.targets)).toEqual([0, 0, 0, 3, 0, 5, 4, 3]);
    expect(Array.from(batch.mask)).toEqual([0, 0, 0, 0, 0, 0, 1, 1]);
  });
});

describe('task validation', () => {
  it('valid tasks have no errors', () => {
    expect(validateTask({ kind: 'selective-copying', vocab_size: 16, n_data: 8 }, 64)).toEqual([]);
    expect(validateTask({ kind: 'selective-copying', vocab_size: 3, n_data: 1 }, 2)).toEqual([]);
    expect(validateTask({ kind: 'induction-heads', vocab_size: 16 }, 64)).toEqual([]);
    expect(validateTask({ kind: 'induction-heads', vocab_size: 3 }, 4)).toEqual([]);
  });

  it('selective copying rejects small vocabulary', () => {
    const errors = validateTask({ kind: 'selective-copying', vocab_size: 2, n_data: 4 }, 64);
    expect(errors.map((e) => e.field)).toEqual(['vocab_size']);
    expect(errors[0].message).toContain('vocab_size = 2 is out of range');
    expect(errors[0].message).toContain('from 3 to 4096');
  });

  it('selective copying rejects zero n_data', () => {
    const errors = validateTask({ kind: 'selective-copying', vocab_size: 16, n_data: 0 }, 64);
    expect(errors).toEqual([{ field: 'n_data', message: expect.stringContaining('n_data = 0 is out of range') }]);
  });

  it('selective copying rejects fractional n_data', () => {
    const errors = validateTask({ kind: 'selective-copying', vocab_size: 16, n_data: 2.5 }, 64);
    expect(errors.map((e) => e.field)).toEqual(['n_data']);
    expect(errors[0].message).toContain('n_data = 2.5 is invalid: it must be an integer');
  });

  it('selective copying rejects n_data over half', () => {
    const errors = validateTask({ kind: 'selective-copying', vocab_size: 16, n_data: 40 }, 64);
    expect(errors.map((e) => e.field)).toEqual(['n_data']);
    expect(errors[0].message).toContain('n_data = 40 does not fit in seq_len = 64');
    expect(errors[0].message).toContain('at most 32');
    expect(errors[0].message).toContain('seq_len of at least 80');
  });

  it('induction heads rejects short sequence', () => {
    const errors = validateTask({ kind: 'induction-heads', vocab_size: 16 }, 3);
    expect(errors.map((e) => e.field)).toEqual(['seq_len']);
    expect(errors[0].message).toContain('seq_len = 3 is too short for induction heads');
  });

  it('induction heads rejects small vocabulary', () => {
    const errors = validateTask({ kind: 'induction-heads', vocab_size: 2 }, 64);
    expect(errors.map((e) => e.field)).toEqual(['vocab_size']);
    expect(errors[0].message).toContain('vocab_size = 2 is out of range');
  });

  it('validation reports invalid seq_len once', () => {
    const errors = validateTask({ kind: 'selective-copying', vocab_size: 16, n_data: 4 }, 0);
    expect(errors.map((e) => e.field)).toEqual(['seq_len']);
    expect(errors[0].message).toContain('seq_len = 0 is out of range');
  });

  it('validation lists every bad field', () => {
    const errors = validateTask({ kind: 'selective-copying', vocab_size: 1, n_data: -1 }, 64);
    expect(errors.map((e) => e.field)).toEqual(['vocab_size', 'n_data']);
  });

  it('validation rejects unknown kind', () => {
    const errors = validateTask({ kind: 'copying', vocab_size: 16 } as unknown as TaskConfig, 64);
    expect(errors).toEqual([
      {
        field: 'kind',
        message: "task kind 'copying' is unknown: use 'selective-copying' or 'induction-heads'",
      },
    ]);
  });

  it('generateBatch throws on invalid config', () => {
    const task: TaskConfig = { kind: 'selective-copying', vocab_size: 16, n_data: 40 };
    expect(() => generateBatch(task, 4, 64, new Rng(1))).toThrow(ConfigError);
    expect(() => generateBatch({ kind: 'induction-heads', vocab_size: 16 }, 0, 64, new Rng(1))).toThrow(
      'batch_size = 0 is out of range',
    );
    expect(() => probeSequence(task, 64, 1)).toThrow(ConfigError);
  });
});

describe('task labels', () => {
  it('taskLabel names each task', () => {
    expect(taskLabel({ kind: 'selective-copying', vocab_size: 16, n_data: 8 })).toBe('Selective copying');
    expect(taskLabel({ kind: 'induction-heads', vocab_size: 16 })).toBe('Induction heads');
  });

  it('describeToken labels selective copying', () => {
    const task: TaskConfig = { kind: 'selective-copying', vocab_size: 16, n_data: 8 };
    expect(describeToken(task, 0)).toBe('·');
    expect(describeToken(task, 3)).toBe('3');
    expect(describeToken(task, 15)).toBe('▶');
  });

  it('describeToken labels induction heads', () => {
    const task: TaskConfig = { kind: 'induction-heads', vocab_size: 16 };
    expect(describeToken(task, 0)).toBe('0');
    expect(describeToken(task, 14)).toBe('14');
    expect(describeToken(task, 15)).toBe('T');
  });

  it('describeToken rejects out-of-vocabulary token', () => {
    const task: TaskConfig = { kind: 'induction-heads', vocab_size: 16 };
    expect(() => describeToken(task, 16)).toThrow('token = 16 is invalid: use an integer from 0 to 15');
    expect(() => describeToken(task, -1)).toThrow(RangeError);
  });
});
