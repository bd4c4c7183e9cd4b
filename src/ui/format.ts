/** Number and status formatting for the UI. Pure functions with no DOM. */
import type { EngineInfo, MetricsEvent, RunStatus } from '../protocol';

export function formatLoss(loss: number): string {
  return Number.isFinite(loss) ? loss.toFixed(3) : String(loss);
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

const STATUS_WORDS: Record<RunStatus, string> = {
  idle: 'Ready',
  running: 'Training',
  paused: 'Paused',
  done: 'Done',
  error: 'Error',
};

/**
 * Builds the text of the status line, read by screen readers and tests:
 * "Training · step 120 · loss 1.234 · accuracy 56.2% · WebGPU (SwiftShader)".
 * Loss and accuracy read "–" until the first metrics arrive.
 */
export function statusText(status: RunStatus, configuring: boolean, metrics: MetricsEvent | null, engine: EngineInfo | null): string {
  const parts = [configuring ? 'Building the model' : STATUS_WORDS[status]];
  parts.push(`step ${metrics?.step ?? 0}`);
  parts.push(`loss ${metrics ? formatLoss(metrics.loss) : '–'}`);
  parts.push(`accuracy ${metrics ? formatAccuracy(metrics.accuracy) : '–'}`);
  if (engine) parts.push(engine.description);
  return parts.join(' · ');
}
