/**
 * The results table of a grid: one row per run with the config fields that differ
 * between the runs, the accuracy, size, steps and time, and the paper's accuracy,
 * plus per-length accuracy for extrapolation grids. Pure functions, formatted as
 * JSON, CSV and aligned text by the command line.
 */
import { MAMBA_ABLATION_DEFAULTS, isTransformerConfig } from '../model/config';
import type { RunConfig } from '../protocol';
import type { ExtrapolationPoint } from './evaluate';
import type { PaperPoint } from './paperPresets';

export type FieldValue = string | number | boolean;

/** The outcome of one run of a grid. */
export interface RunOutcome {
  name: string;
  config: RunConfig;
  paperAccuracy: number | null;
  paperRow: string | null;
  paperCurve: PaperPoint[] | null;
  /** 'done', or 'error' with a message, or 'interrupted' when stopped by Ctrl+C. */
  status: 'done' | 'error' | 'interrupted';
  message: string | null;
  steps: number;
  parameters: number;
  /** Loss and accuracy of the last metrics read, averaged over the steps since the one before. */
  trainLoss: number;
  trainAccuracy: number;
  /** Answer accuracy on fresh sequences at the training length after training; NaN when not evaluated. */
  accuracy: number;
  evalSequences: number;
  /** Training time excluding engine setup, in seconds. */
  trainSeconds: number;
  /** Wall time of the whole run, setup and evaluation included, in seconds. */
  wallSeconds: number;
  engine: string;
  extrapolation: ExtrapolationPoint[] | null;
}

export interface ResultRow {
  run: string;
  /** The differing config fields, by column name. */
  fields: Record<string, FieldValue>;
  status: RunOutcome['status'];
  accuracy: number | null;
  train_accuracy: number | null;
  train_loss: number | null;
  parameters: number;
  steps: number;
  train_s: number;
  wall_s: number;
  paper_accuracy: number | null;
  paper_row: string | null;
}

export interface ExtrapolationRow {
  run: string;
  length: number;
  accuracy: number | null;
  status: ExtrapolationPoint['status'];
  method: ExtrapolationPoint['method'];
  samples: number;
  seconds: number;
  /** The paper's accuracy at this length; null when it has none or reports out of memory. */
  paper_accuracy: number | null;
}

export interface ResultsTable {
  grid: string;
  /** Column names of the differing fields, in table order. */
  differingFields: string[];
  rows: ResultRow[];
  /** One row per run and test length; empty for grids without extrapolation. */
  extrapolation: ExtrapolationRow[];
}

/**
 * Flattens a run config into dotted paths: 'model.d_model', 'train.seq_len'. Mamba
 * ablation fields are filled with their defaults, so a run that leaves them out
 * compares equal to one that sets the default. The preset name and the engine are
 * left out because they describe where a run came from, not the experiment.
 */
export function flattenRun(run: RunConfig): Record<string, FieldValue> {
  const model = isTransformerConfig(run.model) ? { ...run.model } : { architecture: 'mamba', ...MAMBA_ABLATION_DEFAULTS, ...run.model };
  const flat: Record<string, FieldValue> = {};
  const add = (prefix: string, values: object) => {
    for (const [key, value] of Object.entries(values)) {
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') flat[`${prefix}.${key}`] = value;
    }
  };
  add('task', run.task);
  add('model', model);
  add('train', run.train);
  flat.max_steps = run.max_steps;
  return flat;
}

/**
 * Returns the dotted paths whose value differs between runs, counting only the runs
 * that have the field, so Mamba's d_state does not differ from a Transformer's
 * absence of one. max_steps is left out because the table has its own steps column.
 */
export function differingPaths(runs: RunConfig[]): string[] {
  const flats = runs.map(flattenRun);
  const paths = [...new Set(flats.flatMap((flat) => Object.keys(flat)))];
  return paths.filter((path) => {
    if (path === 'max_steps') return false;
    const values = new Set(flats.filter((flat) => path in flat).map((flat) => flat[path]));
    return values.size > 1;
  });
}

/** Names each path by its last segment, or by the whole path where two last segments clash. */
function columnNames(paths: string[]): Map<string, string> {
  const last = (path: string) => path.slice(path.lastIndexOf('.') + 1);
  const counts = new Map<string, number>();
  for (const path of paths) counts.set(last(path), (counts.get(last(path)) ?? 0) + 1);
  return new Map(paths.map((path) => [path, counts.get(last(path))! > 1 ? path : last(path)]));
}

/** Rounds a measured fraction or loss to 4 decimals, or returns null when it was not measured. */
function measured(value: number): number | null {
  return Number.isFinite(value) ? Math.round(value * 1e4) / 1e4 : null;
}

/** Builds the results table of a grid from its outcomes, in run order. */
export function buildResultsTable(grid: string, outcomes: RunOutcome[]): ResultsTable {
  const paths = differingPaths(outcomes.map((outcome) => outcome.config));
  const names = columnNames(paths);
  const rows = outcomes.map((outcome): ResultRow => {
    const flat = flattenRun(outcome.config);
    const fields: Record<string, FieldValue> = {};
    for (const path of paths) fields[names.get(path)!] = flat[path] ?? '';
    return {
      run: outcome.name,
      fields,
      status: outcome.status,
      accuracy: measured(outcome.accuracy),
      train_accuracy: measured(outcome.trainAccuracy),
      train_loss: measured(outcome.trainLoss),
      parameters: outcome.parameters,
      steps: outcome.steps,
      train_s: Math.round(outcome.trainSeconds * 10) / 10,
      wall_s: Math.round(outcome.wallSeconds * 10) / 10,
      paper_accuracy: outcome.paperAccuracy,
      paper_row: outcome.paperRow,
    };
  });
  const extrapolation = outcomes.flatMap((outcome) =>
    (outcome.extrapolation ?? []).map((point): ExtrapolationRow => ({
      run: outcome.name,
      length: point.length,
      accuracy: point.accuracy,
      status: point.status,
      method: point.method,
      samples: point.samples,
      seconds: point.seconds,
      paper_accuracy: outcome.paperCurve?.find((p) => p.length === point.length)?.accuracy ?? null,
    })),
  );
  return { grid, differingFields: paths.map((path) => names.get(path)!), rows, extrapolation };
}

/** Quotes a CSV cell when it contains a comma, a quote or a line break (RFC 4180). */
export function csvCell(value: FieldValue | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvLines(header: string[], rows: (FieldValue | null)[][]): string {
  return [header, ...rows].map((cells) => cells.map(csvCell).join(',')).join('\n') + '\n';
}

/** Lengths tested in the table, in ascending order. */
function testLengths(table: ResultsTable): number[] {
  return [...new Set(table.extrapolation.map((row) => row.length))].sort((a, b) => a - b);
}

/**
 * Formats the per-run table as CSV. Extrapolation grids get one column per test
 * length, accuracy_at_LENGTH, holding the accuracy or the reason it was not measured.
 */
export function runsCsv(table: ResultsTable): string {
  const lengths = testLengths(table);
  const header = [
    'run', ...table.differingFields, 'status', 'accuracy', 'train_accuracy', 'train_loss', 'parameters', 'steps',
    'train_s', 'wall_s', 'paper_accuracy', 'paper_row', ...lengths.map((length) => `accuracy_at_${length}`),
  ];
  const rows = table.rows.map((row) => {
    const perLength = lengths.map((length) => {
      const point = table.extrapolation.find((p) => p.run === row.run && p.length === length);
      if (!point) return null;
      return point.accuracy ?? point.status;
    });
    return [
      row.run, ...table.differingFields.map((name) => row.fields[name]), row.status, row.accuracy, row.train_accuracy,
      row.train_loss, row.parameters, row.steps, row.train_s, row.wall_s, row.paper_accuracy, row.paper_row, ...perLength,
    ];
  });
  return csvLines(header, rows);
}

/** Formats the extrapolation rows as CSV, one line per run and test length. */
export function extrapolationCsv(table: ResultsTable): string {
  const header = ['run', 'length', 'accuracy', 'status', 'method', 'samples', 'seconds', 'paper_accuracy'];
  const rows = table.extrapolation.map((row) => [
    row.run, row.length, row.accuracy, row.status, row.method, row.samples, row.seconds, row.paper_accuracy,
  ]);
  return csvLines(header, rows);
}

function percent(value: number | null): string {
  return value === null ? '–' : `${(value * 100).toFixed(1)}%`;
}

function alignColumns(header: string[], rows: string[][]): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * Formats the table for a terminal: accuracy beside the paper's, then for
 * extrapolation grids one line per run with the accuracy at each test length.
 */
export function formatResultsText(table: ResultsTable): string {
  const header = ['run', ...table.differingFields, 'accuracy', 'paper', 'parameters', 'steps', 'train time'];
  const rows = table.rows.map((row) => [
    row.status === 'done' ? row.run : `${row.run} (${row.status})`,
    ...table.differingFields.map((name) => String(row.fields[name])),
    percent(row.accuracy),
    percent(row.paper_accuracy),
    String(row.parameters),
    String(row.steps),
    `${row.train_s.toFixed(1)} s`,
  ]);
  const parts = [alignColumns(header, rows)];

  const lengths = testLengths(table);
  if (lengths.length > 0) {
    const extrapolationRows = table.rows.flatMap((row) => {
      const points = lengths.map((length) => table.extrapolation.find((p) => p.run === row.run && p.length === length));
      const measured = points.map((p) => {
        if (!p) return '';
        if (p.accuracy !== null) return percent(p.accuracy);
        return { 'positions beyond max_len': 'max_len', 'exceeds memory': 'memory', 'exceeds compute budget': 'compute', ok: '' }[p.status];
      });
      const paper = points.map((p) => {
        if (!p) return '';
        return p.paper_accuracy === null ? '✗' : percent(p.paper_accuracy);
      });
      return [
        [row.run, ...measured],
        [`  paper ${row.paper_row ?? ''}`.trimEnd(), ...paper],
      ];
    });
    parts.push(
      alignColumns(['accuracy at length', ...lengths.map(String)], extrapolationRows),
      'max_len: positions beyond the absolute table; memory, compute: over the limit for the parallel forward; ✗: out of memory in the paper, or no value.',
    );
  }
  return parts.join('\n\n');
}
