/**
 * Grid presets in the studio: the grids of the Mamba paper (Gu and Dao, 2023) in
 * src/studio/paperPresets.ts and a smoke-test grid for the browser tests, turned into
 * queued studio runs that carry the paper's results, and a run's grid row found again
 * from its config. Pure functions with no DOM, store or worker.
 */
import type { EnginePreference, RunConfig } from '../protocol';
import { encodeRunQuery } from '../store/url';
import { stepCosts } from './estimate';
import {
  findGridPreset, GRID_PRESETS, publishedInductionCurve, type ExtrapolationSpec, type GridPreset, type GridRun,
  type PaperInductionRow,
} from './paperPresets';
import { newRunId, newStudioRun } from './runs';
import type { StudioRun } from './types';

const MIB = 2 ** 20;

const SMOKE_LENGTHS = [16, 32, 64, 128];
const SMOKE_TRAIN_LENGTH = 32;

function smokeRun(name: string, paperRow: PaperInductionRow, model: RunConfig['model']): GridRun {
  const curve = publishedInductionCurve(paperRow, SMOKE_LENGTHS, SMOKE_TRAIN_LENGTH);
  return {
    name,
    config: {
      preset: 'e2e-extrapolation-tiny',
      task: { kind: 'induction-heads', vocab_size: 16 },
      model,
      train: { learning_rate: 1e-2, batch_size: 8, seq_len: SMOKE_TRAIN_LENGTH, seed: 1, weight_decay: 0, grad_clip: 1 },
      engine: 'cpu',
      max_steps: 30,
    },
    paperAccuracy: curve.find((point) => point.length === SMOKE_TRAIN_LENGTH)?.accuracy ?? null,
    paperRow,
    paperCurve: curve,
  };
}

/**
 * A smoke test of the extrapolation flow, not a reproduction: a one-layer Mamba and a
 * one-layer Transformer with absolute positions train 30 steps on induction heads at
 * length 32, then are tested at lengths 16 to 128. Attention cannot run at 128,
 * beyond its position table of 64. The dashed curves are the paper's values at the
 * same multiples (half to 4 times) of its training length of 256.
 */
export const E2E_EXTRAPOLATION_TINY: GridPreset = {
  name: 'e2e-extrapolation-tiny',
  label: 'Smoke test: induction heads extrapolation (tiny)',
  description:
    'A test of the length-extrapolation flow, not a result: a one-layer Mamba and a one-layer Transformer train 30 ' +
    'steps at length 32 on the CPU, then are tested at lengths 16 to 128.',
  runs: [
    smokeRun('Mamba', 'Mamba', { vocab_size: 16, d_model: 16, n_layer: 1, d_state: 4, expand: 2, d_conv: 4, dt_rank: 'auto' }),
    smokeRun('Attention, absolute', 'MHA-Abs', {
      architecture: 'transformer',
      vocab_size: 16,
      d_model: 16,
      n_layer: 1,
      n_head: 2,
      d_ff: 'auto',
      positions: 'absolute',
      max_len: 64,
    }),
  ],
  extrapolation: { lengths: SMOKE_LENGTHS, samples: 8, attentionMemoryLimit: 256 * MIB, attentionComputeLimit: 1e9 },
};

/** Grids for tests of the app, listed apart from the paper's grids. */
export const SMOKE_TEST_GRIDS: GridPreset[] = [E2E_EXTRAPOLATION_TINY];

/** Returns the paper grid or smoke-test grid with this name, or undefined when there is none. */
export function findStudioGrid(name: string): GridPreset | undefined {
  return findGridPreset(name) ?? SMOKE_TEST_GRIDS.find((grid) => grid.name === name);
}

/** Returns the extrapolation spec of the run's grid, or null for a run outside an extrapolation grid. */
export function extrapolationSpecFor(run: Pick<StudioRun, 'grid'>): ExtrapolationSpec | null {
  return run.grid === null ? null : (findStudioGrid(run.grid)?.extrapolation ?? null);
}

/**
 * Builds one queued studio run per run of the grid, with `engine` in place of the
 * grid's own engine, named by its row and carrying the grid's name and the paper's
 * results. Configs are not validated here.
 */
export function gridStudioRuns(grid: GridPreset, engine: EnginePreference, createId: () => string = newRunId, now = Date.now()): StudioRun[] {
  return grid.runs.map((row) => ({
    ...newStudioRun({ ...row.config, engine }, row.name, createId(), now),
    grid: grid.name,
    paperAccuracy: row.paperAccuracy,
    paperRow: row.paperRow,
    paperCurve: row.paperCurve === null ? null : row.paperCurve.map((point) => ({ ...point })),
  }));
}

/** Returns the query string of a config with the engine left out, so that configs compare as the link stores them. */
function comparableQuery(config: RunConfig): string {
  return encodeRunQuery({ ...config, engine: 'auto' });
}

/** Returns the grid's run whose config equals `config` in every field but the engine, or undefined. */
export function findGridRow(grid: GridPreset, config: RunConfig): GridRun | undefined {
  const query = comparableQuery(config);
  return grid.runs.find((row) => comparableQuery(row.config) === query);
}

/** Training tokens per run above which a grid counts as a full-size paper setting: hours or more in a browser. */
export const FULL_SIZE_TOKENS = 1e8;

/** Tokens one run of the grid trains on: steps × batch size × sequence length, the largest over its runs. */
export function tokensPerRun(grid: GridPreset): number {
  return Math.max(...grid.runs.map((row) => row.config.max_steps * row.config.train.batch_size * row.config.train.seq_len));
}

export function isFullSize(grid: GridPreset): boolean {
  return tokensPerRun(grid) >= FULL_SIZE_TOKENS;
}

/** Returns the scaled-down version of a full-size paper grid, named like it with "-small" added, or undefined. */
export function smallerGrid(grid: GridPreset): GridPreset | undefined {
  return GRID_PRESETS.find((other) => other.name === `${grid.name}-small`);
}

/**
 * Estimates each grid run's training time in milliseconds from the milliseconds per
 * step measured on the runs in the list (see stepCosts, which scales by parameters
 * and tokens per step). Returns null when no run in the list has a measurement yet.
 */
export function estimateGridRunMs(grid: GridPreset, runs: readonly StudioRun[]): number[] | null {
  const candidates = gridStudioRuns(grid, 'auto', (() => {
    let n = 0;
    return () => `grid-estimate-${n++}`;
  })());
  const costs = stepCosts([...runs, ...candidates]);
  const perRun = candidates.map((candidate) => {
    const cost = costs.get(candidate.id);
    return cost ? cost.ms * candidate.config.max_steps : null;
  });
  return perRun.every((ms): ms is number => ms !== null) ? perRun : null;
}
