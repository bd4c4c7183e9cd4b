/**
 * Files a comparison exports: a run as JSON (its configuration and metrics), a run's
 * metrics as CSV, the results table as CSV, and the length-extrapolation points as CSV. Pure functions that return text; the
 * Compare view turns them into downloads.
 *
 * CSV follows RFC 4180: comma-separated, CRLF line ends, and a cell that contains a
 * comma, a double quote or a line break is quoted with its quotes doubled. Numbers are
 * written in full precision as JavaScript prints them (0.1, 3e-7), and a missing or
 * non-finite number is an empty cell.
 */
import type { ResultRow } from './results';
import type { StudioRun } from './types';

/** Identifies the JSON export, so that a later import can check what it reads. */
export const RUN_JSON_FORMAT = 'mamba-playground-run';
export const RUN_JSON_VERSION = 1;

export const METRICS_CSV_COLUMNS = ['step', 'loss', 'accuracy', 'elapsed_ms', 'tokens_per_second'] as const;

export const RESULTS_CSV_COLUMNS = [
  'name', 'label', 'status', 'architecture', 'preset', 'seed', 'final_accuracy', 'paper_accuracy', 'paper_row',
  'final_loss', 'parameters', 'steps', 'elapsed_ms',
] as const;

export const EXTRAPOLATION_CSV_COLUMNS = [
  'name', 'label', 'grid', 'paper_row', 'train_length', 'length', 'accuracy', 'status', 'method', 'samples', 'seconds', 'paper_accuracy',
] as const;

type Cell = string | number | null;

/**
 * Returns a run as pretty-printed JSON: its name, full configuration, status, size,
 * engine, times, the paper's accuracy and every metrics reading. The probe is left out,
 * because its arrays are large and the run's config and seed reproduce it.
 */
export function runToJson(run: StudioRun): string {
  const document = {
    format: RUN_JSON_FORMAT,
    version: RUN_JSON_VERSION,
    name: run.name,
    config: run.config,
    status: run.status,
    message: run.message,
    step: run.step,
    parameterCount: run.parameterCount,
    engine: run.engine,
    createdAt: new Date(run.createdAt).toISOString(),
    elapsedMs: run.elapsedMs,
    paperAccuracy: run.paperAccuracy,
    paperRow: run.paperRow,
    grid: run.grid,
    paperCurve: run.paperCurve,
    extrapolation: run.extrapolation,
    // JSON has no NaN or Infinity, so a non-finite reading becomes null.
    metrics: run.metrics.map((m) => ({
      step: finiteOrNull(m.step),
      loss: finiteOrNull(m.loss),
      accuracy: finiteOrNull(m.accuracy),
      elapsedMs: finiteOrNull(m.elapsedMs),
      tokensPerSecond: finiteOrNull(m.tokensPerSecond),
    })),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** Returns a run's metrics as CSV, one row per reading, with METRICS_CSV_COLUMNS as the header. */
export function metricsToCsv(run: Pick<StudioRun, 'metrics'>): string {
  const rows: Cell[][] = run.metrics.map((m) => [m.step, m.loss, m.accuracy, m.elapsedMs, m.tokensPerSecond]);
  return toCsv([...METRICS_CSV_COLUMNS], rows);
}

/** Returns the results table as CSV, one row per run, with RESULTS_CSV_COLUMNS as the header. */
export function resultsToCsv(rows: ResultRow[]): string {
  const cells: Cell[][] = rows.map((row) => [
    row.name, row.label, row.status, row.architecture, row.preset, row.seed, row.finalAccuracy, row.paperAccuracy, row.paperRow,
    row.finalLoss, row.parameterCount, row.steps, row.elapsedMs,
  ]);
  return toCsv([...RESULTS_CSV_COLUMNS], cells);
}

/**
 * Returns the length-extrapolation points as CSV, with EXTRAPOLATION_CSV_COLUMNS as
 * the header: one row per run and length that has a point or a published value. A
 * length attention could not run at has an empty accuracy and its status, and a length
 * where the paper reports the model out of memory has an empty paper_accuracy.
 */
export function extrapolationToCsv(runs: readonly { run: StudioRun; label: string }[]): string {
  const rows: Cell[][] = runs.flatMap(({ run, label }) => {
    const lengths = [...new Set([...(run.extrapolation ?? []), ...(run.paperCurve ?? [])].map((p) => p.length))].sort((a, b) => a - b);
    return lengths.map((length) => {
      const point = run.extrapolation?.find((p) => p.length === length);
      const paper = run.paperCurve?.find((p) => p.length === length);
      return [
        run.name, label, run.grid, run.paperRow, run.config.train.seq_len, length, point?.accuracy ?? null, point?.status ?? null,
        point?.method ?? null, point?.samples ?? null, point?.seconds ?? null, paper?.accuracy ?? null,
      ];
    });
  });
  return toCsv([...EXTRAPOLATION_CSV_COLUMNS], rows);
}

/** Joins a header and rows into CSV text that ends with a line break. */
export function toCsv(header: string[], rows: Cell[][]): string {
  return [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/**
 * Formats one CSV cell. Text that starts with =, +, -, @ or a tab gets a leading
 * apostrophe, so that a spreadsheet shows a run named "=1+1" as text instead of
 * evaluating it; numbers are written as they are.
 */
export function csvCell(value: Cell): string {
  if (value === null) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * Turns a run name or label into a file name with `extension` added after a dot. The
 * name is lower case without accents, with Δ spelled "delta". Every sequence of
 * characters other than letters, digits, "." and "_" becomes "-", the name is cut at
 * 80 characters, and it is "run" when nothing is left.
 */
export function exportFileName(name: string, extension: string): string {
  const stem = name
    .replace(/Δ/g, 'delta')
    .normalize('NFKD')
    // NFKD splits accented letters into a letter and a combining mark, which is dropped.
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9._]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 80)
    .replace(/[-.]+$/, '');
  return `${stem || 'run'}.${extension}`;
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/**
 * Builds a grid file of the runs' configs, the JSON list that
 * `npm run train -- --grid FILE` reads, so the same runs train without a browser.
 */
export function gridFileJson(runs: StudioRun[]): string {
  return `${JSON.stringify(runs.map((run) => run.config), null, 2)}\n`;
}
