/**
 * The results table of compared runs, one row per run as in the ablation tables of
 * the Mamba paper (Gu and Dao, 2023): the run, its final accuracy, its size, its training steps and time,
 * and the published accuracy of the paper row it reproduces. Pure functions, shared by
 * the table and its CSV export.
 */
import type { StudioRun, StudioRunStatus } from './types';

export interface ResultRow {
  id: string;
  name: string;
  /** Legend label: what differs from the other runs, or the name. */
  label: string;
  status: StudioRunStatus;
  architecture: 'mamba' | 'transformer';
  preset: string;
  seed: number;
  /** Accuracy and loss of the last metrics reading; null before the first one. */
  finalAccuracy: number | null;
  finalLoss: number | null;
  paperAccuracy: number | null;
  paperRow: string | null;
  parameterCount: number;
  steps: number;
  elapsedMs: number;
}

/** Returns one row per run; `labels[i]` is run i's legend label. */
export function resultRows(runs: StudioRun[], labels: string[]): ResultRow[] {
  return runs.map((run, i) => {
    const last = run.metrics.at(-1);
    return {
      id: run.id,
      name: run.name,
      label: labels[i] ?? run.name,
      status: run.status,
      architecture: run.config.model.architecture ?? 'mamba',
      preset: run.config.preset,
      seed: run.config.train.seed,
      finalAccuracy: last ? last.accuracy : null,
      finalLoss: last ? last.loss : null,
      paperAccuracy: run.paperAccuracy,
      paperRow: run.paperRow,
      parameterCount: run.parameterCount,
      steps: run.step,
      elapsedMs: run.elapsedMs,
    };
  });
}

/** Formats a duration in milliseconds: "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const totalSeconds = Math.round(seconds);
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes < 60) return `${minutes} min ${String(totalSeconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}
