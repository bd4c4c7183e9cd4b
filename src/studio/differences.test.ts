import { describe, expect, it } from 'vitest';
import { findPreset } from '../presets';
import type { RunConfig } from '../protocol';
import { choiceSpec, withArchitecture } from '../store/choices';
import { fieldSpec } from '../store/fields';
import { copyRun } from '../store/url';
import { differingKeys, formatDifferences, listDifferences, runLabels } from './differences';

const tiny = (): RunConfig => copyRun(findPreset('e2e-tiny')!.run);
const withField = (run: RunConfig, key: Parameters<typeof fieldSpec>[0], value: number) => fieldSpec(key).write(run, value);
const withChoice = (run: RunConfig, key: Parameters<typeof choiceSpec>[0], value: string | boolean) => choiceSpec(key).write(run, value);
const named = (configs: RunConfig[]) => configs.map((config, i) => ({ config, name: `run ${i + 1}` }));

describe('differingKeys', () => {
  it('finds d_state between two Mamba runs', () => {
    expect(differingKeys([withField(tiny(), 'd_state', 1), withField(tiny(), 'd_state', 16)])).toEqual(['d_state']);
  });

  it('finds nothing between equal runs', () => {
    expect(differingKeys([tiny(), tiny()])).toEqual([]);
    expect(differingKeys([tiny()])).toEqual([]);
    expect(differingKeys([])).toEqual([]);
  });

  it('ignores fields that only one architecture has', () => {
    const keys = differingKeys([tiny(), withArchitecture(tiny(), 'transformer')]);
    expect(keys).toEqual(['architecture']);
  });

  it('lists several keys in label order', () => {
    const a = withField(withChoice(tiny(), 'selective_delta', false), 'seed', 2);
    const b = withField(tiny(), 'learning_rate', 0.003);
    expect(differingKeys([a, b])).toEqual(['selective_delta', 'learning_rate', 'seed']);
  });

  it('finds the task and the engine', () => {
    const induction = copyRun(findPreset('induction-heads-small')!.run);
    const small = copyRun(findPreset('selective-copying-small')!.run);
    expect(differingKeys([small, { ...induction, engine: 'cpu' }])).toEqual(['task', 'engine']);
  });
});

describe('listDifferences', () => {
  it('describes fields and choices in words', () => {
    const s4 = withChoice(tiny(), 'selective_delta', false);
    const s6 = tiny();
    expect(listDifferences([s6, s4])).toEqual([
      [{ key: 'selective_delta', text: 'selective_delta: input-dependent (S6)' }],
      [{ key: 'selective_delta', text: 'selective_delta: fixed (S4)' }],
    ]);
    expect(listDifferences([withField(tiny(), 'd_state', 1), withField(tiny(), 'd_state', 16)])).toEqual([
      [{ key: 'd_state', text: 'd_state = 1' }],
      [{ key: 'd_state', text: 'd_state = 16' }],
    ]);
  });

  it('names the architecture and the Mamba fields of Mamba runs only', () => {
    const runs = [withField(tiny(), 'd_state', 1), withField(tiny(), 'd_state', 16), withArchitecture(tiny(), 'transformer')];
    expect(listDifferences(runs).map((list) => list.map((d) => d.text))).toEqual([
      ['Mamba', 'd_state = 1'],
      ['Mamba', 'd_state = 16'],
      ['Transformer'],
    ]);
  });

  it('names the block and the A initialisation by their labels', () => {
    const runs = [withChoice(tiny(), 'block', 'h3'), withChoice(tiny(), 'a_init', 'random')];
    expect(listDifferences(runs).map((list) => list.map((d) => d.text))).toEqual([
      ['block: H3', 'a_init: S4D-Real: −(n+1)'],
      ['block: Mamba', 'a_init: random: −exp(N(0, 1))'],
    ]);
  });
});

describe('formatDifferences', () => {
  const list = ['a = 1', 'b = 2', 'c = 3', 'd = 4', 'e = 5'].map((text) => ({ key: 'seed' as const, text }));

  it('joins up to three and counts the rest', () => {
    expect(formatDifferences(list)).toBe('a = 1, b = 2, c = 3 +2 more');
    expect(formatDifferences(list.slice(0, 3))).toBe('a = 1, b = 2, c = 3');
    expect(formatDifferences(list, 1)).toBe('a = 1 +4 more');
  });

  it('returns an empty label without differences', () => {
    expect(formatDifferences([])).toBe('');
  });
});

describe('runLabels', () => {
  it('labels runs by their differences', () => {
    const runs = named([withField(tiny(), 'd_state', 1), withField(tiny(), 'd_state', 16)]);
    expect(runLabels(runs)).toEqual(['d_state = 1', 'd_state = 16']);
  });

  it('falls back to the name of a single run', () => {
    expect(runLabels([{ config: tiny(), name: 'baseline' }])).toEqual(['baseline']);
  });

  it('tells identical configs apart by name', () => {
    const runs = [{ config: tiny(), name: 'first' }, { config: tiny(), name: 'second' }];
    expect(runLabels(runs)).toEqual(['first', 'second']);
  });

  it('numbers identical configs with the same name', () => {
    const runs = [{ config: tiny(), name: 'copy' }, { config: tiny(), name: 'copy' }, { config: tiny(), name: 'copy' }];
    expect(runLabels(runs)).toEqual(['copy', 'copy #2', 'copy #3']);
  });

  it('adds the name where two differing runs share a label', () => {
    const runs = [
      { config: withField(tiny(), 'd_state', 1), name: 'a' },
      { config: withField(tiny(), 'd_state', 1), name: 'b' },
      { config: withField(tiny(), 'd_state', 16), name: 'c' },
    ];
    expect(runLabels(runs)).toEqual(['d_state = 1 · a', 'd_state = 1 · b', 'd_state = 16']);
  });

  it('shortens long labels', () => {
    let many = tiny();
    for (const [key, value] of [['d_model', 24], ['n_layer', 2], ['d_state', 8], ['seed', 9]] as const) many = withField(many, key, value);
    expect(runLabels(named([tiny(), many]))).toEqual([
      'd_model = 16, n_layer = 1, d_state = 4 +1 more',
      'd_model = 24, n_layer = 2, d_state = 8 +1 more',
    ]);
  });
});

describe('labels of a grid beside other runs', () => {
  it('leads with grid field', () => {
    // One run differs in four ways; the grid's five runs differ from it and each other in d_state.
    let other = withChoice(tiny(), 'selective_delta', false);
    other = withField(withField(withField(other, 'learning_rate', 0.02), 'seed', 2), 'd_conv', 2);
    const grid = [1, 2, 8, 16, 32].map((n) => withField(tiny(), 'd_state', n));
    const labels = runLabels(named([other, ...grid]));
    expect(labels.map((label) => label.split(',')[0])).toEqual(['d_state = 4', 'd_state = 1', 'd_state = 2', 'd_state = 8', 'd_state = 16', 'd_state = 32']);
    expect(labels[0]).toBe('d_state = 4, selective_delta: fixed (S4), learning_rate = 0.02 +2 more');
  });
});
