import { describe, expect, it } from 'vitest';
import { fieldSpec } from '../store/fields';
import { validateRun } from '../../workers/validateRun';
import { EVAL_SEED_OFFSET } from '../cli/grid';
import { EXTRAPOLATION_SEED_OFFSET } from './extrapolationProtocol';
import {
  E2E_EXTRAPOLATION_TINY, estimateGridRunMs, extrapolationSpecFor, findGridRow, findStudioGrid, gridStudioRuns, isFullSize,
  smallerGrid, SMOKE_TEST_GRIDS, tokensPerRun,
} from './grids';
import {
  GRID_PRESETS, INDUCTION_EXTRAPOLATION, INDUCTION_EXTRAPOLATION_SMALL, PAPER_TABLE1, PAPER_TABLE1_SMALL,
} from './paperPresets';
import { newStudioRun } from './runs';
import type { StudioRun } from './types';

describe('smoke-test grid', () => {
  it('runs are valid and train on the CPU', () => {
    for (const row of E2E_EXTRAPOLATION_TINY.runs) {
      expect(() => validateRun(row.config), row.name).not.toThrow();
      expect(row.config.engine).toBe('cpu');
      expect(row.config.max_steps).toBe(30);
    }
    expect(E2E_EXTRAPOLATION_TINY.runs.map((row) => row.config.model.architecture ?? 'mamba')).toEqual(['mamba', 'transformer']);
  });

  it('paper curve matched by multiple', () => {
    const [mamba, attention] = E2E_EXTRAPOLATION_TINY.runs;
    expect(mamba.paperCurve!.map((point) => point.length)).toEqual([16, 32, 64, 128]);
    expect(mamba.paperCurve!.every((point) => point.accuracy === 1)).toBe(true);
    // Trained at 32: the paper's values at 128, 256, 512 and 1024, for its training length of 256.
    expect(attention.paperCurve).toEqual([
      { length: 16, accuracy: 1 },
      { length: 32, accuracy: 1 },
      { length: 64, accuracy: 0.586 },
      { length: 128, accuracy: 0.266 },
    ]);
    expect(attention.paperAccuracy).toBe(1);
  });

  it('stays out of the paper grids', () => {
    expect(GRID_PRESETS.map((grid) => grid.name)).not.toContain('e2e-extrapolation-tiny');
    expect(findStudioGrid('e2e-extrapolation-tiny')).toBe(E2E_EXTRAPOLATION_TINY);
    expect(findStudioGrid('paper-table1-small')).toBe(PAPER_TABLE1_SMALL);
    expect(findStudioGrid('selective-copying-small')).toBeUndefined();
    expect(SMOKE_TEST_GRIDS.every((grid) => grid.label.startsWith('Smoke test'))).toBe(true);
  });
});

describe('gridStudioRuns', () => {
  it('queues each row with paper results', () => {
    let n = 0;
    const runs = gridStudioRuns(INDUCTION_EXTRAPOLATION_SMALL, 'cpu', () => `id-${n++}`, 42);
    expect(runs.map((run) => [run.id, run.name, run.status, run.grid, run.paperRow, run.createdAt])).toEqual([
      ['id-0', 'Mamba', 'queued', 'induction-extrapolation-small', 'Mamba', 42],
      ['id-1', 'Attention, rotary', 'queued', 'induction-extrapolation-small', 'MHA-RoPE', 42],
      ['id-2', 'Attention, absolute', 'queued', 'induction-extrapolation-small', 'MHA-Abs', 42],
    ]);
    expect(runs.every((run) => run.config.engine === 'cpu')).toBe(true);
    expect(runs[1].paperCurve).toEqual(INDUCTION_EXTRAPOLATION_SMALL.runs[1].paperCurve);
    expect(runs[1].extrapolation).toBeNull();
    expect(runs[0].parameterCount).toBeGreaterThan(0);
  });

  it('copies the preset, never shares it', () => {
    const [run] = gridStudioRuns(INDUCTION_EXTRAPOLATION_SMALL, 'auto');
    run.paperCurve![0].accuracy = 0;
    run.config.train.seq_len = 1;
    expect(INDUCTION_EXTRAPOLATION_SMALL.runs[0].paperCurve![0].accuracy).toBe(1);
    expect(INDUCTION_EXTRAPOLATION_SMALL.runs[0].config.train.seq_len).toBe(16);
  });
});

describe('findGridRow', () => {
  it('matches every row whatever the engine', () => {
    for (const grid of [PAPER_TABLE1_SMALL, INDUCTION_EXTRAPOLATION]) {
      for (const row of grid.runs) expect(findGridRow(grid, { ...row.config, engine: 'cpu' })).toBe(row);
    }
  });

  it('finds no row for a changed config', () => {
    const row = PAPER_TABLE1_SMALL.runs[5];
    expect(findGridRow(PAPER_TABLE1_SMALL, fieldSpec('d_state').write(row.config, 4))).toBeUndefined();
    expect(findGridRow(PAPER_TABLE1, row.config)).toBeUndefined();
  });
});

describe('extrapolationSpecFor', () => {
  it('reads the spec of the run grid', () => {
    expect(extrapolationSpecFor({ grid: 'induction-extrapolation-small' })).toBe(INDUCTION_EXTRAPOLATION_SMALL.extrapolation);
    expect(extrapolationSpecFor({ grid: 'e2e-extrapolation-tiny' })!.lengths).toEqual([16, 32, 64, 128]);
    expect(extrapolationSpecFor({ grid: 'paper-table1-small' })).toBeNull();
    expect(extrapolationSpecFor({ grid: 'no-such-grid' })).toBeNull();
    expect(extrapolationSpecFor({ grid: null })).toBeNull();
  });
});

describe('grid size', () => {
  it('flags the paper settings as full size', () => {
    expect(tokensPerRun(PAPER_TABLE1)).toBe(400_000 * 64 * 4112);
    expect(isFullSize(PAPER_TABLE1)).toBe(true);
    expect(isFullSize(INDUCTION_EXTRAPOLATION)).toBe(true);
    expect(isFullSize(PAPER_TABLE1_SMALL)).toBe(false);
    expect(isFullSize(INDUCTION_EXTRAPOLATION_SMALL)).toBe(false);
    expect(isFullSize(E2E_EXTRAPOLATION_TINY)).toBe(false);
  });

  it('suggests the small version', () => {
    expect(smallerGrid(PAPER_TABLE1)).toBe(PAPER_TABLE1_SMALL);
    expect(smallerGrid(INDUCTION_EXTRAPOLATION)).toBe(INDUCTION_EXTRAPOLATION_SMALL);
    expect(smallerGrid(PAPER_TABLE1_SMALL)).toBeUndefined();
  });
});

describe('estimateGridRunMs', () => {
  /** A run that measured `msPerStep` over its first 100 steps. */
  function measured(config: StudioRun['config'], msPerStep: number): StudioRun {
    return {
      ...newStudioRun(config, 'measured', 'measured', 1),
      status: 'done',
      step: 100,
      metrics: [{ step: 100, loss: 1, accuracy: 0.5, elapsedMs: 100 * msPerStep, tokensPerSecond: 1 }],
    };
  }

  it('is unknown before any measurement', () => {
    expect(estimateGridRunMs(PAPER_TABLE1_SMALL, [])).toBeNull();
    expect(estimateGridRunMs(PAPER_TABLE1_SMALL, [newStudioRun(PAPER_TABLE1_SMALL.runs[0].config, 'a')])).toBeNull();
  });

  it('scales a measured run of the grid by steps', () => {
    const row = PAPER_TABLE1_SMALL.runs[5];
    const estimate = estimateGridRunMs(PAPER_TABLE1_SMALL, [measured(row.config, 20)])!;
    expect(estimate).toHaveLength(6);
    // The same config costs the same per step, for all of its 1500 steps.
    expect(estimate[5]).toBeCloseTo(20 * 1500, 6);
    for (const ms of estimate) expect(ms).toBeGreaterThan(0);
  });
});

describe('evaluation seed', () => {
  it('matches the command line', () => {
    expect(EXTRAPOLATION_SEED_OFFSET).toBe(EVAL_SEED_OFFSET);
  });
});
