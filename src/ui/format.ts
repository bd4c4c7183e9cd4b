/** Number and status formatting for the UI. Pure functions with no DOM. */
import type { EngineInfo, EnginePreference, MetricsEvent, RunStatus } from '../protocol';

/**
 * Formats a loss with 3 significant digits: 2.08, 0.500, 0.00123, and with an
 * exponent below 0.001, where fixed digits would round to zero: 1.23e-6.
 */
export function formatLoss(loss: number): string {
  if (!Number.isFinite(loss)) return String(loss);
  if (loss !== 0 && Math.abs(loss) < 1e-3) return loss.toExponential(2);
  return loss.toPrecision(3);
}

export function formatAccuracy(accuracy: number): string {
  return Number.isFinite(accuracy) ? `${(accuracy * 100).toFixed(1)}%` : String(accuracy);
}

/** Formats a rate with a thousands suffix: 950, 12.3k, 4.56M. */
export function formatRate(value: number): string {
  if (!Number.isFinite(value)) return '–';
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  if (value >= 100) return value.toFixed(0);
  return value.toFixed(1);
}

/** Formats a parameter count: 31,234 parameters. */
export function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

/**
 * Returns the engine's name for the status line: the WebGPU adapter, "CPU (chosen)"
 * when the run asked for the CPU engine, or "CPU (WebGPU not used)" when it fell back.
 */
export function engineLabel(engine: EngineInfo, preference: EnginePreference | undefined): string {
  if (engine.kind !== 'cpu') return engine.description;
  if (preference === 'cpu') return `${engine.description} (chosen)`;
  return engine.fallbackReason ? `${engine.description} (WebGPU not used)` : engine.description;
}

const STATUS_WORDS: Record<RunStatus, string> = {
  idle: 'Ready',
  running: 'Training',
  paused: 'Paused',
  done: 'Done',
  error: 'Error',
};

/** State of the run that the status line names first. */
export interface RunActivity {
  status: RunStatus;
  /** A configure call is in flight. */
  configuring: boolean;
  /** Pause was pressed and the step in flight has not finished. */
  pausing: boolean;
}

/** Returns the first word or phrase of the status line, such as "Training". */
export function activityText({ status, configuring, pausing }: RunActivity): string {
  if (configuring) return 'Building the model';
  if (pausing && status === 'running') return 'Pausing after the step in flight…';
  return STATUS_WORDS[status];
}

/**
 * Builds the text of the status line, read by screen readers and tests:
 * "Training · step 120 · loss 1.23 · accuracy 56.2% · WebGPU (SwiftShader)".
 * Loss and accuracy read "–" until the first metrics arrive, and the engine part is
 * left out until an engine is built.
 */
export function statusText(activity: RunActivity, metrics: MetricsEvent | null, engine: string | null): string {
  const parts = [activityText(activity)];
  parts.push(`step ${metrics?.step ?? 0}`);
  parts.push(`loss ${metrics ? formatLoss(metrics.loss) : '–'}`);
  parts.push(`accuracy ${metrics ? formatAccuracy(metrics.accuracy) : '–'}`);
  if (engine) parts.push(engine);
  return parts.join(' · ');
}

/** Formats a duration for time-left estimates: "< 1 s", "42 s", "3 min 05 s", "1 h 02 min". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const seconds = Math.round(ms / 1000);
  if (seconds < 1) return '< 1 s';
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}
