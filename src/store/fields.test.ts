import { describe, expect, it } from 'vitest';
import { findPreset } from '../presets';
import type { RunConfig } from '../protocol';
import { fieldsFor, fieldTexts, normalizeFieldText, parseFieldText, runFromTexts, validateRunFields } from './fields';
import { copyRun } from './url';

const small = (): RunConfig => copyRun(findPreset('selective-copying-small')!.run);
const induction = (): RunConfig => copyRun(findPreset('induction-heads-small')!.run);

describe('parseFieldText', () => {
  it('parses numbers with spaces and exponents', () => {
    expect(parseFieldText('d_model', ' 64 ')).toEqual({ value: 64 });
    expect(parseFieldText('learning_rate', '3e-3')).toEqual({ value: 0.003 });
  });

  it('names text that is not a number', () => {
    const result = parseFieldText('d_model', 'abc');
    expect(result).toEqual({ error: 'd_model = "abc" is not a number: use an integer from 1 to 1024, such as 64' });
  });

  it('rejects hexadecimal and other literals', () => {
    expect(parseFieldText('d_model', '0x10')).toEqual({
      error: 'd_model = "0x10" is not written in decimal digits: use an integer from 1 to 1024, such as 64',
    });
    expect(parseFieldText('learning_rate', '0x10')).toEqual({
      error: 'learning_rate = "0x10" is not written as a decimal number: use a number from 0.000001 to 1, such as 0.003',
    });
    expect(parseFieldText('seed', '0b11')).toHaveProperty('error');
    expect(parseFieldText('seed', '0o7')).toHaveProperty('error');
  });

  it('rejects an exponent in integer fields', () => {
    expect(parseFieldText('d_model', '1e1')).toEqual({
      error: 'd_model = "1e1" is not written in decimal digits: use an integer from 1 to 1024, such as 64',
    });
  });

  it('reads signs and decimal fractions', () => {
    expect(parseFieldText('max_steps', '-1')).toEqual({ value: -1 });
    expect(parseFieldText('batch_size', '2.5')).toEqual({ value: 2.5 });
    expect(parseFieldText('weight_decay', '.5')).toEqual({ value: 0.5 });
  });

  it('reports an empty field with its range', () => {
    const result = parseFieldText('learning_rate', '  ');
    expect(result).toEqual({ error: 'learning_rate is empty: use a number from 0.000001 to 1, such as 0.003' });
  });
});

describe('normalizeFieldText', () => {
  it('writes the parsed value', () => {
    expect(normalizeFieldText('learning_rate', '3e-3')).toBe('0.003');
    expect(normalizeFieldText('d_model', ' 016 ')).toBe('16');
    expect(normalizeFieldText('batch_size', '16.0')).toBe('16');
  });

  it('keeps text that does not parse', () => {
    expect(normalizeFieldText('d_model', '0x10')).toBe('0x10');
  });
});

describe('validateRunFields', () => {
  it('accepts every preset', () => {
    expect(validateRunFields(small())).toEqual({});
    expect(validateRunFields(induction())).toEqual({});
  });

  it('names value and range when out of range', () => {
    const run = small();
    run.model.d_model = 5000;
    const errors = validateRunFields(run);
    expect(errors.d_model).toContain('d_model = 5000');
    expect(errors.d_model).toContain('from 1 to 1024');
  });

  it('rejects fractions in integer fields', () => {
    const run = small();
    run.train.batch_size = 2.5;
    expect(validateRunFields(run).batch_size).toContain('must be an integer');
  });

  it('reports n_data that does not fit seq_len', () => {
    const run = small();
    run.train.seq_len = 10;
    const errors = validateRunFields(run);
    expect(errors.n_data).toContain('n_data = 8 does not fit in seq_len = 10');
    expect(errors.seq_len).toBeUndefined();
  });

  it('applies task rules to vocab_size', () => {
    const run = small();
    run.task.vocab_size = 2;
    run.model.vocab_size = 2;
    expect(validateRunFields(run).vocab_size).toContain('vocab_size = 2');
  });

  it('states the task minimum for vocab_size', () => {
    for (const base of [small(), induction()]) {
      for (const vocab of [0, 1, 2]) {
        const run = { ...base, task: { ...base.task, vocab_size: vocab }, model: { ...base.model, vocab_size: vocab } };
        const message = validateRunFields(run).vocab_size;
        expect(message, `${base.task.kind} with vocab_size ${vocab}`).toContain(`vocab_size = ${vocab} is out of range: use an integer from 3 to 4096`);
      }
    }
  });

  it('quotes the same range for a vocab_size typo', () => {
    expect(parseFieldText('vocab_size', 'x')).toEqual({ error: 'vocab_size = "x" is not a number: use an integer from 3 to 4096, such as 16' });
  });

  it('checks max_steps', () => {
    const run = small();
    run.max_steps = -1;
    expect(validateRunFields(run).max_steps).toContain('max_steps = -1');
  });
});

describe('runFromTexts', () => {
  it('applies valid texts', () => {
    const { run, errors } = runFromTexts(small(), { ...fieldTexts(small()), d_model: '32', vocab_size: '12' });
    expect(errors).toEqual({});
    expect(run.model.d_model).toBe(32);
    expect(run.model.vocab_size).toBe(12);
    expect(run.task.vocab_size).toBe(12);
  });

  it('reports every invalid text', () => {
    const { errors } = runFromTexts(small(), { d_model: '0', seed: 'x', learning_rate: '2' });
    expect(Object.keys(errors).sort()).toEqual(['d_model', 'learning_rate', 'seed']);
    expect(errors.seed).toContain('"x" is not a number');
  });

  it('leaves the base run unchanged', () => {
    const base = small();
    runFromTexts(base, { d_model: '16' });
    expect(base.model.d_model).toBe(64);
  });
});

describe('fieldsFor', () => {
  it('shows n_data only for selective copying', () => {
    expect(fieldsFor('selective-copying', 'mamba').map((f) => f.key)).toContain('n_data');
    expect(fieldsFor('induction-heads', 'mamba').map((f) => f.key)).not.toContain('n_data');
  });

  it('reads every field of a preset as text', () => {
    const texts = fieldTexts(small());
    expect(texts.d_model).toBe('64');
    expect(texts.learning_rate).toBe('0.003');
    expect(texts.n_data).toBe('8');
    expect(fieldTexts(induction()).n_data).toBeUndefined();
  });
});
