import { describe, expect, it } from 'vitest';
import { seriesStyle } from '../charts/seriesStyles';
import type { ExtrapolationPoint } from '../studio/evaluate';
import { E2E_EXTRAPOLATION_TINY, gridStudioRuns } from '../studio/grids';
import { INDUCTION_EXTRAPOLATION_SMALL, PAPER_TABLE1_SMALL } from '../studio/paperPresets';
import { newStudioRun } from '../studio/runs';
import type { StudioRun } from '../studio/types';
import {
  evaluableRunIds, extrapolationSeries, panelRuns, extrapolationTable, hasExtrapolation, PAPER_DASH, PAPER_OUT_OF_MEMORY, paperText,
  pointText, trainingRules, type ExtrapolationRun,
} from './extrapolationData';

const ok = (length: number, accuracy: number): ExtrapolationPoint => ({ length, accuracy, status: 'ok', method: 'parallel', samples: 8, seconds: 0.1 });
const skipped = (length: number, status: ExtrapolationPoint['status']): ExtrapolationPoint => ({
  length, accuracy: null, status, method: null, samples: 0, seconds: 0,
});

function described(runs: StudioRun[]): ExtrapolationRun[] {
  return runs.map((run, i) => ({ run, label: run.name, style: seriesStyle(i) }));
}

describe('extrapolationSeries', () => {
  it('draws runs solid and the paper dashed', () => {
    const [mamba, attention] = gridStudioRuns(E2E_EXTRAPOLATION_TINY, 'cpu');
    attention.extrapolation = [ok(16, 0.5), ok(64, 0.25), skipped(128, 'positions beyond max_len')];
    const series = extrapolationSeries(described([mamba, attention]));
    expect(series.map((s) => [s.name, s.color, s.dash])).toEqual([
      ['Mamba', seriesStyle(0).color, ''],
      ['Mamba: paper (Mamba)', seriesStyle(0).color, PAPER_DASH],
      ['Attention, absolute', seriesStyle(1).color, ''],
      ['Attention, absolute: paper (MHA-Abs)', seriesStyle(1).color, PAPER_DASH],
    ]);
    expect(series[0].points).toEqual([]);
    expect(series[2].points).toEqual([
      { x: 16, y: 0.5 },
      { x: 64, y: 0.25 },
    ]);
    // A length attention cannot run is a skipped point with its status, not a zero.
    expect(series[2].skipped).toEqual([{ x: 128, reason: 'positions beyond max_len' }]);
    expect(series[3].points).toEqual([
      { x: 16, y: 1 },
      { x: 32, y: 1 },
      { x: 64, y: 0.586 },
      { x: 128, y: 0.266 },
    ]);
  });

  it('marks the paper out of memory', () => {
    const rope = gridStudioRuns(INDUCTION_EXTRAPOLATION_SMALL, 'auto')[1];
    rope.paperCurve = [
      { length: 8192, accuracy: 0.055 },
      { length: 16384, accuracy: null },
    ];
    const [, paper] = extrapolationSeries(described([rope]));
    expect(paper.points).toEqual([{ x: 8192, y: 0.055 }]);
    expect(paper.skipped).toEqual([{ x: 16384, reason: PAPER_OUT_OF_MEMORY }]);
  });

  it('leaves out a missing paper curve', () => {
    const run = { ...newStudioRun(E2E_EXTRAPOLATION_TINY.runs[0].config, 'own'), extrapolation: [ok(32, 1)] };
    expect(extrapolationSeries(described([run])).map((s) => s.name)).toEqual(['own']);
  });
});

describe('panelRuns', () => {
  it('labels grid runs by their names', () => {
    const table1 = gridStudioRuns(PAPER_TABLE1_SMALL, 'auto');
    const small = gridStudioRuns(INDUCTION_EXTRAPOLATION_SMALL, 'auto');
    const all = described([...table1, ...small]);
    const listed = panelRuns(all.map((entry) => ({ ...entry, label: 'long label from every run' })));
    expect(listed.map(({ run }) => run.id)).toEqual(small.map((run) => run.id));
    expect(listed.map(({ label }) => label)).toEqual(['Mamba', 'Attention, rotary', 'Attention, absolute']);
    // Colours stay those of the results table.
    expect(listed.map(({ style }) => style)).toEqual([6, 7, 8].map(seriesStyle));
  });

  it('labels repeated names by differences', () => {
    const tiny = gridStudioRuns(E2E_EXTRAPOLATION_TINY, 'cpu');
    const again = gridStudioRuns(E2E_EXTRAPOLATION_TINY, 'cpu').map((run) => ({ ...run, config: { ...run.config, train: { ...run.config.train, seed: 2 } } }));
    const labels = panelRuns(described([...tiny, ...again])).map(({ label }) => label);
    expect(new Set(labels).size).toBe(4);
    expect(labels[0]).toBe('Mamba, seed = 1');
    expect(labels[3]).toBe('Transformer, seed = 2');
  });
});

describe('trainingRules', () => {
  it('marks each training length once', () => {
    const small = gridStudioRuns(INDUCTION_EXTRAPOLATION_SMALL, 'auto');
    const tiny = gridStudioRuns(E2E_EXTRAPOLATION_TINY, 'cpu');
    expect(trainingRules(described([...small, ...tiny]))).toEqual([
      { x: 16, label: 'trained at 16' },
      { x: 32, label: 'trained at 32' },
    ]);
  });
});

describe('extrapolationTable', () => {
  it('lists every length with points and paper values', () => {
    const [mamba, attention] = gridStudioRuns(E2E_EXTRAPOLATION_TINY, 'cpu');
    mamba.extrapolation = [ok(16, 1), ok(128, 0.75)];
    const table = extrapolationTable(described([mamba, attention]));
    expect(table.lengths).toEqual([16, 32, 64, 128]);
    expect(table.rows.map((row) => row.entry.run.id)).toEqual([mamba.id, attention.id]);
    expect(table.rows[0].cells.map((cell) => pointText(cell.point))).toEqual(['100.0%', '–', '–', '75.0%']);
    expect(table.rows[1].cells.map((cell) => paperText(cell.paper))).toEqual(['paper 100.0%', 'paper 100.0%', 'paper 58.6%', 'paper 26.6%']);
  });
});

describe('cell texts', () => {
  it('names the status of a skipped length', () => {
    expect(pointText(skipped(4096, 'exceeds memory'))).toBe('exceeds memory');
    expect(pointText(skipped(512, 'positions beyond max_len'))).toBe('positions beyond max_len');
    expect(paperText({ length: 2 ** 20, accuracy: null })).toBe('paper: out of memory');
  });
});

describe('run selection', () => {
  it('lists grid runs and runs with points', () => {
    const [table1] = gridStudioRuns(PAPER_TABLE1_SMALL, 'auto');
    const [mamba, attention] = gridStudioRuns(E2E_EXTRAPOLATION_TINY, 'cpu');
    const evaluatedElsewhere = { ...newStudioRun(mamba.config, 'own'), extrapolation: [ok(16, 1)] };
    expect([table1, mamba, evaluatedElsewhere].map(hasExtrapolation)).toEqual([false, true, true]);
    const done = (run: StudioRun): StudioRun => ({ ...run, status: 'done' });
    expect(evaluableRunIds([done(table1), done(mamba), attention, done(evaluatedElsewhere)])).toEqual([mamba.id]);
  });
});
