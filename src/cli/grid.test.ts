import { describe, expect, it } from 'vitest';
import { findPreset } from '../presets';
import type { RunConfig } from '../protocol';
import { GridRunner, parseGridFile, plainGridRun, withOverrides } from './grid';

const tiny: RunConfig = { ...findPreset('e2e-tiny')!.run, engine: 'cpu' };

describe('withOverrides', () => {
  it('step count precedence', () => {
    expect(withOverrides({ ...tiny, max_steps: 0 }, 'cpu', 0, 200).max_steps).toBe(200);
    expect(withOverrides({ ...tiny, max_steps: 50 }, 'cpu', 0, 200).max_steps).toBe(50);
    expect(withOverrides({ ...tiny, max_steps: 50 }, 'cpu', 7, 200).max_steps).toBe(7);
  });

  it('copies instead of changing the run', () => {
    const run = { ...tiny, engine: 'auto' as const };
    const copy = withOverrides(run, 'cpu', 3, 200);
    expect(copy.engine).toBe('cpu');
    expect(run.engine).toBe('auto');
    copy.train.seed = 99;
    expect(run.train.seed).toBe(tiny.train.seed);
  });
});

describe('parseGridFile', () => {
  it('names runs by differing fields', () => {
    const text = JSON.stringify([tiny, { ...tiny, model: { ...tiny.model, block: 'h3', use_conv: false } }]);
    expect(parseGridFile(text, 'g.json').map((run) => run.name)).toEqual([
      'block=mamba, use_conv=true',
      'block=h3, use_conv=false',
    ]);
  });

  it('identical runs are numbered', () => {
    expect(parseGridFile(JSON.stringify([tiny, tiny]), 'g.json').map((run) => run.name)).toEqual(['run 1', 'run 2']);
  });

  it('fills preset, engine and steps', () => {
    const { task, model, train } = tiny;
    const [run] = parseGridFile(JSON.stringify([{ task, model, train }]), 'g.json');
    expect(run.config.preset).toBe('grid');
    expect(run.config.engine).toBe('cpu');
    expect(run.config.max_steps).toBe(0);
    expect(run.paperAccuracy).toBeNull();
  });

  it('rejects bad JSON and shapes', () => {
    expect(() => parseGridFile('{', 'g.json')).toThrow('g.json is not valid JSON');
    expect(() => parseGridFile('{}', 'g.json')).toThrow('must contain a non-empty JSON list');
    expect(() => parseGridFile('[1]', 'g.json')).toThrow('g.json, run 1: a run config needs task, model and train objects');
    const wrong = { ...tiny, model: { ...tiny.model, block: 'rnn' } };
    expect(() => parseGridFile(JSON.stringify([tiny, wrong]), 'g.json')).toThrow("g.json, run 2: block = rnn is invalid: use mamba or no-gate or h3");
  });
});

describe('GridRunner', () => {
  it('trains and scores each run', async () => {
    const runs = [plainGridRun('a', { ...tiny, max_steps: 2 }), plainGridRun('b', { ...tiny, max_steps: 3 })];
    const ended: string[] = [];
    const runner = new GridRunner({
      gpu: () => undefined,
      metricsIntervalMs: 0,
      evalSequences: 4,
      extrapolation: null,
      onRunEnd: (_index, outcome) => ended.push(outcome.name),
    });
    const outcomes = await runner.run(runs);
    expect(ended).toEqual(['a', 'b']);
    expect(outcomes.map((o) => [o.status, o.steps, o.evalSequences])).toEqual([['done', 2, 4], ['done', 3, 4]]);
    expect(outcomes[0].parameters).toBeGreaterThan(0);
    expect(outcomes[0].accuracy).toBeGreaterThanOrEqual(0);
    expect(outcomes[0].extrapolation).toBeNull();
  });

  it('stop skips the remaining runs', async () => {
    const runs = [plainGridRun('a', { ...tiny, max_steps: 100_000 }), plainGridRun('b', { ...tiny, max_steps: 2 })];
    const runner = new GridRunner({
      gpu: () => undefined,
      metricsIntervalMs: 0,
      evalSequences: 2,
      extrapolation: null,
      onMetrics: (_index, metrics) => {
        if (metrics.step >= 3) runner.stop();
      },
    });
    const outcomes = await runner.run(runs);
    expect(runner.wasStopped).toBe(true);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0].status).toBe('interrupted');
    expect(outcomes[0].steps).toBeLessThan(100);
    expect(Number.isFinite(outcomes[0].accuracy)).toBe(true);
  });
});
