/**
 * Chart series, training-length rules and table cells of the Compare view's length
 * extrapolation panel, computed from the studio's runs and the published curves of
 * the Mamba paper (Gu and Dao, 2023) that grid runs carry. Pure functions with no DOM.
 */
import type { ChartRule, LineSeries } from '../charts/multiLineChart';
import { REFERENCE_DASH, type SeriesStyle } from '../charts/seriesStyles';
import { runLabels } from '../studio/differences';
import type { ExtrapolationPoint } from '../studio/evaluate';
import { extrapolationSpecFor } from '../studio/grids';
import type { PaperPoint } from '../studio/paperPresets';
import type { StudioRun } from '../studio/types';
import { formatAccuracy } from './format';

/** A run as the panel draws it: the run, its legend label and its line style in the other compare charts. */
export interface ExtrapolationRun {
  run: StudioRun;
  label: string;
  style: SeriesStyle;
}

/** Dash pattern of the paper's published curves. */
export const PAPER_DASH = REFERENCE_DASH;

/** Reason drawn at lengths where the paper reports the model out of memory; the series name already says "paper". */
export const PAPER_OUT_OF_MEMORY = 'out of memory';

/** True for a run the panel lists: one of a grid with an extrapolation spec, or one with evaluated points. */
export function hasExtrapolation(run: StudioRun): boolean {
  return extrapolationSpecFor(run) !== null || (run.extrapolation?.length ?? 0) > 0;
}

/**
 * Returns the runs the panel lists, labelled by their names, such as a grid's row
 * names "Mamba" and "Attention, rotary". Where names repeat, the labels name what
 * differs between these runs alone, so runs of other grids in the Compare view do not
 * lengthen them. Each run keeps its style, the colour of its row in the results table.
 */
export function panelRuns(runs: readonly ExtrapolationRun[]): ExtrapolationRun[] {
  const listed = runs.filter(({ run }) => hasExtrapolation(run));
  const names = listed.map(({ run }) => run.name);
  const labels =
    new Set(names).size === names.length ? names : runLabels(listed.map(({ run }) => ({ config: run.config, name: run.name })));
  return listed.map((entry, i) => ({ ...entry, label: labels[i] }));
}

/** Legend name of a run's published curve, such as "Attention, rotary: paper (MHA-RoPE)". */
export function paperSeriesName(label: string, paperRow: string | null): string {
  return paperRow ? `${label}: paper (${paperRow})` : `${label}: paper`;
}

/**
 * Returns the chart's series: per run, a solid line of its evaluated points, then,
 * when the run has a published curve, a dashed line of it in the same colour. Lengths
 * without an accuracy become skipped points with their status, never a zero.
 * NOTE: after seven runs the series styles repeat colours with a dash, which then looks like a paper curve.
 */
export function extrapolationSeries(runs: readonly ExtrapolationRun[]): LineSeries[] {
  return runs.flatMap(({ run, label, style }) => {
    const points = run.extrapolation ?? [];
    const measured: LineSeries = {
      name: label,
      color: style.color,
      dash: style.dash,
      dots: true,
      points: points.filter((p) => p.accuracy !== null).map((p) => ({ x: p.length, y: p.accuracy as number })),
      skipped: points.filter((p) => p.accuracy === null).map((p) => ({ x: p.length, reason: p.status })),
    };
    if (!run.paperCurve || run.paperCurve.length === 0) return [measured];
    const paper: LineSeries = {
      name: paperSeriesName(label, run.paperRow),
      color: style.color,
      dash: PAPER_DASH,
      dots: true,
      points: run.paperCurve.filter((p) => p.accuracy !== null).map((p) => ({ x: p.length, y: p.accuracy as number })),
      skipped: run.paperCurve.filter((p) => p.accuracy === null).map((p) => ({ x: p.length, reason: PAPER_OUT_OF_MEMORY })),
    };
    return [measured, paper];
  });
}

/** Returns one vertical rule per training length of the runs, "trained at 64", in length order. */
export function trainingRules(runs: readonly ExtrapolationRun[]): ChartRule[] {
  const lengths = [...new Set(runs.map(({ run }) => run.config.train.seq_len))].sort((a, b) => a - b);
  return lengths.map((length) => ({ x: length, label: `trained at ${length}` }));
}

/** One cell of the points table: the run's point and the paper's value at one length, each null when absent. */
export interface ExtrapolationCell {
  length: number;
  point: ExtrapolationPoint | null;
  paper: PaperPoint | null;
}

export interface ExtrapolationTable {
  /** Every length of the runs' specs, points and published curves, ascending. */
  lengths: number[];
  /** One row per run, with one cell per length. */
  rows: { entry: ExtrapolationRun; cells: ExtrapolationCell[] }[];
}

export function extrapolationTable(runs: readonly ExtrapolationRun[]): ExtrapolationTable {
  const lengths = new Set<number>();
  for (const { run } of runs) {
    for (const length of extrapolationSpecFor(run)?.lengths ?? []) lengths.add(length);
    for (const point of run.extrapolation ?? []) lengths.add(point.length);
    for (const point of run.paperCurve ?? []) lengths.add(point.length);
  }
  const sorted = [...lengths].sort((a, b) => a - b);
  return {
    lengths: sorted,
    rows: runs.map((entry) => ({
      entry,
      cells: sorted.map((length) => ({
        length,
        point: entry.run.extrapolation?.find((p) => p.length === length) ?? null,
        paper: entry.run.paperCurve?.find((p) => p.length === length) ?? null,
      })),
    })),
  };
}

/** Text of a run's point: its accuracy, why attention did not run there, or "–" before evaluation. */
export function pointText(point: ExtrapolationPoint | null): string {
  if (!point) return '–';
  return point.accuracy === null ? point.status : formatAccuracy(point.accuracy);
}

/** Text of the paper's value at a length: "paper 83.6%", "paper: out of memory", or "" where it has none. */
export function paperText(paper: PaperPoint | null): string {
  if (!paper) return '';
  return paper.accuracy === null ? 'paper: out of memory' : `paper ${formatAccuracy(paper.accuracy)}`;
}

/** Returns the ids of the runs that "Evaluate all finished runs" evaluates: finished runs of an extrapolation grid. */
export function evaluableRunIds(runs: readonly StudioRun[]): string[] {
  return runs.filter((run) => run.status === 'done' && extrapolationSpecFor(run) !== null).map((run) => run.id);
}
