/**
 * The ablation studio's records: runs that are queued, training or finished, kept
 * in IndexedDB across reloads and compared side by side in the Compare view.
 */
import type { MetricsEvent, ProbeEvent, RunConfig } from '../protocol';
import type { ExtrapolationPoint } from './evaluate';
import type { PaperPoint } from './paperPresets';

export type StudioRunStatus = 'queued' | 'running' | 'paused' | 'done' | 'error';

/** One metrics reading of a studio run, as the charts and the CSV export use it. */
export type StudioMetric = Pick<MetricsEvent, 'step' | 'loss' | 'accuracy' | 'elapsedMs' | 'tokensPerSecond'>;

export interface StudioRun {
  /** Stable identifier, such as a UUID; the IndexedDB key. */
  id: string;
  /** Display name; defaults to what differs from the other runs, and can be renamed. */
  name: string;
  /** The whole configuration including the seed; max_steps > 0 for a queued run. */
  config: RunConfig;
  status: StudioRunStatus;
  /** Error text when status is 'error'. */
  message: string | null;
  /** Training steps done so far. */
  step: number;
  metrics: StudioMetric[];
  /** Probe of the finished (or paused) model on the task's fixed probe sequence; null before the first probe. */
  probe: ProbeEvent | null;
  /** Trainable parameters of the model. */
  parameterCount: number;
  /** Engine description, such as "CPU" or "WebGPU (…)"; null before the run starts. */
  engine: string | null;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** Training wall time so far, excluding pauses, in milliseconds. */
  elapsedMs: number;
  /** Published accuracy of the paper row this run reproduces, in [0, 1]; null for runs that reproduce none. */
  paperAccuracy: number | null;
  /** Label of the paper row, such as "Mamba with S6"; null when none. */
  paperRow: string | null;
  /** Name of the grid preset the run was added from, such as 'paper-table1-small'; null for other runs. */
  grid: string | null;
  /** Published accuracy per test length of the paper row, for length-extrapolation grids; null otherwise. */
  paperCurve: PaperPoint[] | null;
  /** Accuracy per test length of the final weights, in the order evaluated; null before the first evaluation. */
  extrapolation: ExtrapolationPoint[] | null;
  /**
   * Step of the run's progress saved in IndexedDB (weights, optimizer state and data
   * stream). After a reload the run resumes from it. Null when none is saved.
   */
  checkpointStep: number | null;
  /** True after the run's own Pause, so that Start queue leaves it paused until its Resume. */
  onHold: boolean;
}

/** True for a run that Start queue trains: queued, or paused without being held. */
export function startsWithQueue(run: Pick<StudioRun, 'status' | 'onHold'>): boolean {
  return run.status === 'queued' || (run.status === 'paused' && !run.onHold);
}
