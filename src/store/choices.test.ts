import { describe, expect, it } from 'vitest';
import { countParameters } from '../model/models';
import { findPreset } from '../presets';
import type { RunConfig } from '../protocol';
import { choiceSpec, choicesForRun, defaultHeads, parseChoice, withArchitecture } from './choices';
import { fieldsForRun, validateRunFields } from './fields';

const small = (): RunConfig => structuredClone(findPreset('selective-copying-small')!.run);

describe('withArchitecture', () => {
  it('keeps vocabulary, width and depth and picks heads that divide the width', () => {
    const run = withArchitecture(small(), 'transformer');
    expect(run.model).toEqual({
      architecture: 'transformer', vocab_size: 16, d_model: 64, n_layer: 2, n_head: 4, d_ff: 'auto', positions: 'rope', max_len: 64,
    });
    expect(validateRunFields(run)).toEqual({});
  });

  it("returns to the preset's Mamba settings", () => {
    const preset = small();
    const back = withArchitecture(withArchitecture(preset, 'transformer'), 'mamba');
    expect(back).toEqual(preset);
  });

  it('is a no-op for the current architecture', () => {
    const run = small();
    expect(withArchitecture(run, 'mamba')).toBe(run);
  });

  it('chooses 4, 2 or 1 heads', () => {
    expect([defaultHeads(64), defaultHeads(6), defaultHeads(7)]).toEqual([4, 2, 1]);
  });
});

describe('choices', () => {
  it('offers the ablations for Mamba and positions for the Transformer', () => {
    const mamba = choicesForRun(small()).map((c) => c.key);
    expect(mamba).toContain('selective_delta');
    expect(mamba).not.toContain('positions');
    const transformer = choicesForRun(withArchitecture(small(), 'transformer')).map((c) => c.key);
    expect(transformer).toEqual(['architecture', 'positions']);
  });

  it('drops an ablation key when it is set back to its default', () => {
    const spec = choiceSpec('selective_B');
    const fixed = spec.write(small(), false);
    expect(fixed.model).toMatchObject({ selective_B: false });
    expect(spec.read(fixed)).toBe(false);
    expect(spec.write(fixed, true)).toEqual(small());
  });

  it('counts the Transformer parameters for the architecture choice', () => {
    const base = countParameters(small().model);
    expect(countParameters(choiceSpec('architecture').write(small(), 'transformer').model)).not.toBe(base);
  });

  it('widens max_len to seq_len when positions become absolute', () => {
    const run = withArchitecture(small(), 'transformer');
    const narrow = { ...run, model: { ...run.model, max_len: 8 } } as RunConfig;
    expect(choiceSpec('positions').write(narrow, 'absolute').model).toMatchObject({ positions: 'absolute', max_len: 64 });
  });

  it('parses URL text and names the allowed values otherwise', () => {
    expect(parseChoice('use_conv', 'false')).toEqual({ value: false });
    expect(parseChoice('a_init', 'random')).toEqual({ value: 'random' });
    expect(parseChoice('architecture', 'rnn')).toEqual({ error: 'architecture = "rnn" is not known: use mamba, transformer' });
  });
});

describe('fields of a Transformer run', () => {
  it('shows n_head and max_len instead of the Mamba sizes', () => {
    const keys = fieldsForRun(withArchitecture(small(), 'transformer')).map((f) => f.key);
    expect(keys).toContain('n_head');
    expect(keys).toContain('max_len');
    expect(keys).not.toContain('d_state');
    expect(keys).not.toContain('d_conv');
  });

  it('rejects heads that do not divide d_model and a max_len shorter than seq_len', () => {
    const run = withArchitecture(small(), 'transformer');
    const badHeads = { ...run, model: { ...run.model, n_head: 5 } } as RunConfig;
    expect(validateRunFields(badHeads).n_head).toBe('n_head = 5 does not divide d_model = 64: choose a divisor of d_model');
    const shortTable = { ...run, model: { ...run.model, positions: 'absolute', max_len: 32 } } as RunConfig;
    expect(validateRunFields(shortTable)).toEqual({
      max_len: 'max_len = 32 is shorter than seq_len = 64: absolute positions need max_len ≥ seq_len, so raise max_len or use rotary positions',
    });
  });
});

describe('parseChoice names', () => {
  it('accepts the labels the controls show', () => {
    expect(parseChoice('selective_B', 'fixed (S4)')).toEqual({ value: false });
    expect(parseChoice('selective_B', 'S4')).toEqual({ value: false });
    expect(parseChoice('selective_delta', 'input-dependent')).toEqual({ value: true });
    expect(parseChoice('architecture', 'Transformer')).toEqual({ value: 'transformer' });
    expect(parseChoice('a_init', 'S4D-Real')).toEqual({ value: 's4d-real' });
    expect(parseChoice('use_conv', 'off')).toEqual({ value: false });
  });
});
