/**
 * Types shared by the run queue (workers/queue.ts), the worker that exposes it beside
 * the trainer, and the studio slice of the store.
 */
import type { EngineInfo, MetricsEvent, ProbeEvent, RunConfig, TrainingCheckpoint } from '../protocol';
import type { StudioRunStatus } from './types';

/** 'sequential' trains one run to its end before the next; 'interleaved' gives each run a slice of steps in turn. */
export type QueueMode = 'sequential' | 'interleaved';
export const QUEUE_MODES: readonly QueueMode[] = ['sequential', 'interleaved'];

/** Steps each run trains per turn in interleaved mode, unless the queue is built with another sliceSteps. */
export const INTERLEAVE_STEPS = 10;

/** 'idle' when no run is waiting to train, 'paused' when stopped with runs still waiting. */
export type QueueState = 'idle' | 'running' | 'paused';

/** A run handed to the queue: the studio run's id and its config, with max_steps > 0. */
export interface QueueRunSpec {
  id: string;
  config: RunConfig;
  /**
   * Progress saved earlier, such as before a reload: the run's engine starts from it
   * instead of fresh weights. Ignored for a run that is already in the queue.
   */
  checkpoint?: TrainingCheckpoint;
}

export interface QueueStateEvent {
  type: 'queue';
  state: QueueState;
  /** Reason the queue stopped, such as "training started in the Train view"; null otherwise. */
  message: string | null;
}

export interface QueueRunStatusEvent {
  type: 'run-status';
  runId: string;
  status: StudioRunStatus;
  /** Error text when status is 'error', "reached max_steps = 20" when 'done', otherwise null. */
  message: string | null;
}

/**
 * Sent when a run's engine is built: with fresh weights at step 0, including a restart
 * after a cancel, or from the checkpoint its spec carried.
 */
export interface QueueRunEngineEvent {
  type: 'run-engine';
  runId: string;
  info: EngineInfo;
  /** 0 for fresh weights, otherwise the checkpoint's step. */
  step: number;
  /** Training time before this engine, the checkpoint's; 0 for fresh weights. */
  elapsedMs: number;
}

/**
 * A run's progress, sent when the run pauses and, while it trains, at a metrics read
 * once checkpointIntervalMs has passed since the last one, so that a reload loses
 * little. Its step is always one at which metrics were read.
 */
export interface QueueRunCheckpointEvent {
  type: 'run-checkpoint';
  runId: string;
  checkpoint: TrainingCheckpoint;
}

export interface QueueRunMetricsEvent {
  type: 'run-metrics';
  runId: string;
  metrics: MetricsEvent;
}

/** The trainer's probe on the task's fixed probe sequence: when a run finishes or pauses. */
export interface QueueRunProbeEvent {
  type: 'run-probe';
  runId: string;
  probe: ProbeEvent;
}

/** A finished run's final weights in the flat layout of buildModelLayout; sent just before its 'done' status. */
export interface QueueRunWeightsEvent {
  type: 'run-weights';
  runId: string;
  step: number;
  params: Float32Array;
}

/** A run left the queue before it finished, and its engine and progress were freed. */
export interface QueueRunCancelledEvent {
  type: 'run-cancelled';
  runId: string;
  /** Steps the run had done when it was cancelled. */
  step: number;
}

export type QueueEvent =
  | QueueStateEvent
  | QueueRunStatusEvent
  | QueueRunEngineEvent
  | QueueRunMetricsEvent
  | QueueRunProbeEvent
  | QueueRunWeightsEvent
  | QueueRunCheckpointEvent
  | QueueRunCancelledEvent;

/** A run in the queue, for tests and diagnostics. */
export interface QueueRunSnapshot {
  id: string;
  status: StudioRunStatus;
  /** Paused by pauseRun, so the queue skips it until it is enqueued again. */
  onHold: boolean;
  step: number;
}

/** The run queue's API, called directly under Node and through comlink in the browser. */
export interface RunQueueApi {
  /** Registers a listener for every event; under comlink pass it wrapped in Comlink.proxy. */
  subscribe(listener: (event: QueueEvent) => void): Promise<void>;
  /**
   * Appends runs to the queue as 'queued'. A run whose id is already in the queue is
   * resumed instead, keeping its engine and step. A run with an invalid config, or with
   * max_steps = 0, is reported with an 'error' status and left out.
   */
  enqueue(runs: QueueRunSpec[]): Promise<void>;
  /** Orders the queue's runs by these ids; runs not listed keep their order after them. */
  setOrder(ids: string[]): Promise<void>;
  setMode(mode: QueueMode): Promise<void>;
  /** Starts or resumes training the waiting runs; resolves once the loop has started. Pauses the live trainer first. */
  start(): Promise<void>;
  /** Stops after the step in flight; every run in training becomes 'paused'. Resolves once the loop has stopped. */
  pause(): Promise<void>;
  /** Pauses one run after its step in flight; the queue goes on with the others. */
  pauseRun(id: string): Promise<void>;
  /** Stops one run, frees its engine and drops it from the queue. */
  cancelRun(id: string): Promise<void>;
  /** Stops the queue and cancels every run in it. */
  cancel(): Promise<void>;
  snapshot(): Promise<QueueRunSnapshot[]>;
  dispose(): Promise<void>;
}

/** The queue state event's message when live training in the Train view paused the queue. */
export const QUEUE_PAUSED_BY_TRAINER = 'training started in the Train view';
