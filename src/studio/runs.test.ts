import { describe, expect, it } from 'vitest';
import { findPreset } from '../presets';
import type { RunConfig } from '../protocol';
import { withArchitecture } from '../store/choices';
import { configDifferences, copyName, defaultRunName, formatPairDifferences } from './differences';
import { estimateTimeLeft, measuredMsPerStep, overallProgress, stepCosts } from './estimate';
import { applyChange, gridConfigs, newStudioRun, parseGridValues, queuedRunErrors } from './runs';
import type { StudioRun } from './types';

function tinyConfig(maxSteps = 20): RunConfig {
  return { ...structuredClone(findPreset('e2e-tiny')!.run), engine: 'cpu', max_steps: maxSteps };
}

describe('queued run checks', () => {
  it('rejects max_steps 0 by value', () => {
    expect(queuedRunErrors(tinyConfig(0))).toEqual(['steps per run (max_steps) = 0 is invalid for a queued run: use an integer from 1 to 10000000, such as 2000']);
  });

  it('accepts a valid config', () => {
    expect(queuedRunErrors(tinyConfig(20))).toEqual([]);
  });

  it('newStudioRun counts parameters and copies the config', () => {
    const config = tinyConfig();
    const run = newStudioRun(config, 'a', 'id-a', 7);
    expect(run).toMatchObject({ id: 'id-a', name: 'a', status: 'queued', step: 0, createdAt: 7, probe: null });
    expect(run.parameterCount).toBeGreaterThan(0);
    config.train.seed = 99;
    expect(run.config.train.seed).toBe(1);
  });
});

describe('grid over one field', () => {
  it('d_state grid builds one config per value', () => {
    const grid = gridConfigs(tinyConfig(), 'd_state', '1, 2, 4, 8, 16');
    if (!('points' in grid)) throw new Error(grid.errors.join('; '));
    expect(grid.points.map((p) => p.value)).toEqual([1, 2, 4, 8, 16]);
    expect(grid.points.map((p) => (p.config.model as { d_state: number }).d_state)).toEqual([1, 2, 4, 8, 16]);
    for (const point of grid.points) expect(configDifferences(tinyConfig(), point.config).map((d) => d.key)).toEqual(point.value === 4 ? [] : ['d_state']);
  });

  it('rejects bad values by name', () => {
    const grid = gridConfigs(tinyConfig(), 'd_state', '1 0 100 x 1');
    expect('errors' in grid).toBe(true);
    const errors = (grid as { errors: string[] }).errors;
    expect(errors).toContain('d_state = "x" is not a number: use an integer from 1 to 64, such as 16');
    expect(errors).toContain('d_state = 1 appears twice: list each value once');
    expect(errors).toContain('d_state = 0 is out of range: use an integer from 1 to 64, such as 16');
    expect(errors).toContain('d_state = 100 is out of range: use an integer from 1 to 64, such as 16');
    expect(errors).toHaveLength(4);
  });

  it('names a value that breaks another field', () => {
    const grid = gridConfigs(tinyConfig(), 'seq_len', '12, 3');
    expect(grid).toEqual({
      errors: [expect.stringMatching(/^seq_len = 3: n_data = 2 does not fit in seq_len = 3: /)],
    });
  });

  it('rejects max_steps 0 in a grid', () => {
    expect(gridConfigs(tinyConfig(), 'max_steps', '0, 50')).toEqual({
      errors: ['max_steps = 0: steps per run (max_steps) = 0 is invalid for a queued run: use an integer from 1 to 10000000, such as 2000'],
    });
  });

  it('rejects a field the run lacks', () => {
    const grid = gridConfigs(tinyConfig(), 'n_head', '1, 2');
    expect(grid).toEqual({ errors: [expect.stringMatching(/^n_head does not apply to a Mamba run on selective-copying: choose one of /)] });
  });

  it('rejects an empty list', () => {
    expect(gridConfigs(tinyConfig(), 'd_state', ' , ')).toEqual({
      errors: ['the values of d_state are empty: type them separated by commas, such as 1, 2, 4'],
    });
  });

  it('choice grid parses choice values', () => {
    expect(parseGridValues('selective_delta', 'true,false')).toEqual({ values: [true, false], errors: [] });
    expect(parseGridValues('architecture', 'mamba transformer')).toEqual({ values: ['mamba', 'transformer'], errors: [] });
    expect(parseGridValues('selective_delta', 'maybe').errors).toEqual(['selective_delta = "maybe" is not known: use true, false']);

    const grid = gridConfigs(tinyConfig(), 'architecture', 'mamba, transformer');
    if (!('points' in grid)) throw new Error(grid.errors.join('; '));
    expect(grid.points[1].config.model.architecture).toBe('transformer');
  });
});

describe('change one field', () => {
  it('applyChange writes a field or a choice', () => {
    const base = tinyConfig();
    const dState = applyChange(base, { key: 'd_state', value: 1 });
    if ('error' in dState) throw new Error(dState.error);
    expect((dState.config.model as { d_state: number }).d_state).toBe(1);
    const fixed = applyChange(base, { key: 'selective_delta', value: false });
    if ('error' in fixed) throw new Error(fixed.error);
    expect((fixed.config.model as { selective_delta?: boolean }).selective_delta).toBe(false);
    // The base is not changed.
    expect((base.model as { d_state: number }).d_state).toBe(4);
  });

  it('applyChange rejects d_state on a Transformer', () => {
    const transformer = withArchitecture(tinyConfig(), 'transformer');
    const result = applyChange(transformer, { key: 'd_state', value: 1 });
    expect(result).toEqual({ error: expect.stringMatching(/^d_state does not apply to a Transformer run/) });
  });
});

describe('differences from the first run', () => {
  it('lists changed fields and choices', () => {
    const base = tinyConfig();
    let changed = applyChange(base, { key: 'd_state', value: 1 });
    if ('error' in changed) throw new Error(changed.error);
    changed = applyChange(changed.config, { key: 'selective_delta', value: false });
    if ('error' in changed) throw new Error(changed.error);
    const differences = configDifferences(base, changed.config);
    expect(formatPairDifferences(differences)).toBe('d_state = 1, selective_delta = fixed (S4)');
  });

  it('names architecture and its choices', () => {
    const base = tinyConfig();
    const transformer = withArchitecture(base, 'transformer');
    expect(formatPairDifferences(configDifferences(base, transformer))).toBe(
      'architecture = Transformer (attention baseline), positions = rotary (RoPE)',
    );
  });

  it('defaultRunName falls back to the preset', () => {
    const base = tinyConfig();
    expect(defaultRunName(base, [])).toBe('e2e-tiny');
    expect(defaultRunName(base, [{ config: base, name: 'e2e-tiny' }])).toBe('e2e-tiny #2');
    expect(defaultRunName(base, [{ config: base, name: 'e2e-tiny' }, { config: base, name: 'e2e-tiny #2' }])).toBe('e2e-tiny #3');
    expect(defaultRunName({ ...base, engine: 'webgpu' }, [{ config: base, name: 'e2e-tiny' }])).toBe('engine = webgpu');
  });

  it('defaultRunName caps differences', () => {
    const base = tinyConfig();
    let changed = base;
    for (const change of [{ key: 'd_state', value: 1 }, { key: 'seed', value: 5 }, { key: 'd_conv', value: 2 }, { key: 'learning_rate', value: 0.5 }] as const) {
      const applied = applyChange(changed, change);
      if ('error' in applied) throw new Error(applied.error);
      changed = applied.config;
    }
    expect(defaultRunName(changed, [{ config: base, name: 'first' }])).toBe('e2e-tiny');
  });

  it('copyName replaces changed key', () => {
    const base = tinyConfig();
    expect(copyName('d_state = 4', 'd_state', 'd_state = 16', base, [])).toBe('d_state = 16');
    expect(copyName('Mamba, learning_rate = 0.01', 'learning_rate', 'learning_rate = 0.003', base, [])).toBe('Mamba, learning_rate = 0.003');
    expect(copyName('Mamba', 'd_state', 'd_state = 2', base, [{ name: 'Mamba, d_state = 2' }])).toBe('Mamba, d_state = 2 #2');
    // A Transformer has no d_state, so that part goes.
    const transformer = withArchitecture(base, 'transformer');
    expect(copyName('d_state = 8', 'architecture', 'architecture = Transformer (attention baseline)', transformer, [])).toBe(
      'architecture = Transformer (attention baseline)',
    );
  });
});

function measuredRun(id: string, status: StudioRun['status'], step: number, maxSteps: number, msPerStep: number | null): StudioRun {
  const run = newStudioRun(tinyConfig(maxSteps), id, id, 0);
  const metrics = msPerStep === null || step === 0
    ? []
    : [
      { step: step / 2, loss: 1, accuracy: 0, elapsedMs: (step / 2) * msPerStep * 3, tokensPerSecond: 1 },
      { step, loss: 1, accuracy: 0, elapsedMs: (step / 2) * msPerStep * 3 + (step / 2) * msPerStep, tokensPerSecond: 1 },
    ];
  return { ...run, status, step, metrics, elapsedMs: metrics.at(-1)?.elapsedMs ?? 0 };
}

describe('time left', () => {
  it('ms per step uses the last interval', () => {
    // The first half ran at 3 ms per step (warm-up), the last at 1 ms per step.
    expect(measuredMsPerStep(measuredRun('a', 'running', 10, 100, 1))).toBeCloseTo(1, 9);
    expect(measuredMsPerStep(measuredRun('b', 'queued', 0, 100, null))).toBeNull();
  });

  it('sequential runs wait for the runs before them', () => {
    const runs = [
      measuredRun('a', 'done', 100, 100, 2),
      measuredRun('b', 'running', 20, 100, 1),
      measuredRun('c', 'paused', 40, 50, 4),
    ];
    const estimate = estimateTimeLeft(runs, 'sequential', () => true);
    expect(estimate.byRun.has('a')).toBe(false);
    expect(estimate.byRun.get('b')).toBeCloseTo(80, 9);
    expect(estimate.byRun.get('c')).toBeCloseTo(80 + 10 * 4, 9);
    expect(estimate.totalMs).toBeCloseTo(120, 9);
    expect(estimate.estimated).toBe(false);
  });

  it('interleaved runs share the time', () => {
    const runs = [measuredRun('a', 'running', 20, 100, 1), measuredRun('b', 'running', 40, 50, 4)];
    const estimate = estimateTimeLeft(runs, 'interleaved', () => true);
    // a has 80 steps left and b 10: b finishes after 10 steps of each, a after all 90.
    expect(estimate.byRun.get('b')).toBeCloseTo(10 * 1 + 10 * 4, 9);
    expect(estimate.byRun.get('a')).toBeCloseTo(80 * 1 + 10 * 4, 9);
    expect(estimate.totalMs).toBeCloseTo(120, 9);
  });

  it('resumes from checkpoint outside worker', () => {
    const runs = [measuredRun('a', 'paused', 20, 100, 1)];
    expect(estimateTimeLeft(runs, 'sequential', () => false).totalMs).toBeCloseTo(100, 9);
    expect(estimateTimeLeft(runs, 'sequential', () => true).totalMs).toBeCloseTo(80, 9);
    const saved = [{ ...runs[0], checkpointStep: 15 }];
    expect(estimateTimeLeft(saved, 'sequential', () => false).totalMs).toBeCloseTo(85, 9);
    expect(estimateTimeLeft(saved, 'sequential', () => true).totalMs).toBeCloseTo(80, 9);
  });

  it('held run left out', () => {
    const runs = [measuredRun('a', 'paused', 20, 100, 1), { ...measuredRun('b', 'paused', 10, 50, 2), onHold: true }];
    const estimate = estimateTimeLeft(runs, 'sequential', () => true);
    expect(estimate.byRun.has('b')).toBe(false);
    expect(estimate.totalMs).toBeCloseTo(80, 9);
  });

  it('unmeasured runs borrow a scaled cost', () => {
    const measured = measuredRun('a', 'running', 20, 100, 2);
    const wider = { ...measuredRun('b', 'queued', 0, 10, null), parameterCount: measured.parameterCount * 2 };
    const costs = stepCosts([measured, wider]);
    expect(costs.get('a')).toEqual({ ms: 2, estimated: false });
    expect(costs.get('b')!.ms).toBeCloseTo(4, 9);
    expect(costs.get('b')!.estimated).toBe(true);
    const estimate = estimateTimeLeft([measured, wider], 'sequential', () => true);
    expect(estimate.totalMs).toBeCloseTo(80 * 2 + 10 * 4, 9);
    expect(estimate.estimated).toBe(true);
  });

  it('time is unknown before any measurement', () => {
    const estimate = estimateTimeLeft([measuredRun('a', 'queued', 0, 10, null)], 'sequential', () => true);
    expect(estimate.byRun.get('a')).toBeNull();
    expect(estimate.totalMs).toBeNull();
  });

  it('overall progress counts finished runs in full', () => {
    const runs = [
      measuredRun('a', 'done', 100, 100, 1),
      measuredRun('b', 'running', 20, 100, 1),
      { ...measuredRun('c', 'error', 5, 100, 1) },
    ];
    expect(overallProgress(runs)).toEqual({ done: 120, total: 200 });
  });
});

describe('grid values as the controls name them', () => {
  it('accepts choice labels between commas', () => {
    expect(parseGridValues('selective_B', 'input-dependent (S6), fixed (S4)')).toEqual({ values: [true, false], errors: [] });
    expect(parseGridValues('architecture', 'Mamba, Transformer')).toEqual({ values: ['mamba', 'transformer'], errors: [] });
  });

  it('rejects an empty entry between commas', () => {
    expect(parseGridValues('d_state', '1,,16')).toEqual({
      values: [],
      errors: ['the values of d_state have an empty entry between commas: remove the extra comma in "1,,16"'],
    });
  });
});
