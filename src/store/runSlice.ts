/**
 * The run slice: the trainer's status, the engine in use, the metric history and the
 * latest probe, plus the actions that drive the trainer worker through trainerClient.
 */
import type { StateCreator } from 'zustand';
import type { EngineInfo, MetricsEvent, ProbeEvent, RunConfig, RunStatus, TrainerEvent } from '../protocol';
import { getTrainer, onWorkerFailure, subscribeToTrainer } from '../trainerClient';
import { appendMetric, type MetricPoint } from './metrics';
import type { AppState, AppMiddleware } from './types';

export type Connection = 'disconnected' | 'connecting' | 'connected';

/**
 * Kind of failure: connecting to the trainer, setting up a run (configure), a call to
 * start, pause or reset, the training loop, or the worker itself.
 */
export type RunErrorKind = 'connect' | 'setup' | 'start' | 'pause' | 'reset' | 'training' | 'worker';

export interface RunError {
  kind: RunErrorKind;
  /** The cause, such as "WebGPU engine unavailable: no adapter". */
  message: string;
}

export interface RunSlice {
  connection: Connection;
  status: RunStatus;
  /** The trainer's note on its status, such as "reached max_steps = 2000". */
  statusNote: string | null;
  engine: EngineInfo | null;
  metrics: MetricPoint[];
  latestMetrics: MetricsEvent | null;
  probe: ProbeEvent | null;
  /** A failure to show the person: from the worker, the trainer or a call to it. */
  error: RunError | null;
  /** True from a press of Pause until training has stopped after the step in flight. */
  pausing: boolean;
  /** The run most recently sent to configure(), and whether that call is still in flight. */
  requestedRun: RunConfig | null;
  configuring: boolean;
  /** The run built in the trainer now; training starts from it. */
  configuredRun: RunConfig | null;

  /** Subscribes to trainer events and configures the current run; later calls do nothing. */
  connect(): Promise<void>;
  /** Builds a fresh run in the trainer, dropping the metrics of the previous one. */
  configure(run: RunConfig): Promise<void>;
  /** Starts or resumes training, configuring the current run first when it changed. */
  train(): Promise<void>;
  pause(): Promise<void>;
  /** Re-initialises the weights from the seed and clears the history. */
  resetRun(): Promise<void>;
  applyEvent(event: TrainerEvent): void;
  dismissError(): void;
  resetRunSlice(): void;
}

const initialRun = {
  connection: 'disconnected' as Connection,
  status: 'idle' as RunStatus,
  statusNote: null,
  engine: null,
  metrics: [],
  latestMetrics: null,
  probe: null,
  error: null,
  pausing: false,
  requestedRun: null,
  configuring: false,
  configuredRun: null,
};

/** Calls to configure() run one after another, so the last requested run is the one that stays. */
let configureQueue: Promise<void> = Promise.resolve();

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error) return String(error.message);
  return String(error);
}

export const createRunSlice: StateCreator<AppState, AppMiddleware, [], RunSlice> = (set, get) => ({
  ...initialRun,

  async connect() {
    if (get().connection !== 'disconnected') return;
    set({ connection: 'connecting' });
    onWorkerFailure((message) => set({ error: { kind: 'worker', message }, status: 'error', configuredRun: null }));
    try {
      await subscribeToTrainer((event) => get().applyEvent(event));
    } catch (error) {
      set({ connection: 'disconnected', error: { kind: 'connect', message: errorMessage(error) } });
      return;
    }
    set({ connection: 'connected' });
    await get().configure(get().run);
  },

  configure(run) {
    const { requestedRun, configuring, configuredRun } = get();
    if (run === requestedRun && (configuring || configuredRun === run)) return configureQueue;

    set({ requestedRun: run, configuring: true, metrics: [], latestMetrics: null, probe: null, statusNote: null });
    configureQueue = configureQueue.then(async () => {
      // A newer request replaced this one while it waited.
      if (get().requestedRun !== run) return;
      // A retry clears the previous failure, so the banner goes away while the run is built.
      if (get().error) set({ error: null });
      try {
        const engine = await getTrainer().configure(run);
        set({ engine, configuredRun: run, error: null, status: 'idle' });
      } catch (error) {
        set({ engine: null, configuredRun: null, status: 'error', error: { kind: 'setup', message: errorMessage(error) } });
      } finally {
        if (get().requestedRun === run) set({ configuring: false });
      }
    });
    return configureQueue;
  },

  async train() {
    const { run, configuredRun, fieldErrors } = get();
    if (Object.keys(fieldErrors).length > 0) return;
    // After an error configuredRun is null, so Train sets the run up again before training.
    if (run !== configuredRun) await get().configure(run);
    if (get().configuredRun !== run) return;
    try {
      await getTrainer().start();
    } catch (error) {
      set({ status: 'error', error: { kind: 'start', message: errorMessage(error) } });
    }
  },

  async pause() {
    if (get().pausing) return;
    set({ pausing: true });
    try {
      await getTrainer().pause();
    } catch (error) {
      set({ status: 'error', error: { kind: 'pause', message: errorMessage(error) } });
    } finally {
      set({ pausing: false });
    }
  },

  async resetRun() {
    const { run, configuredRun } = get();
    // After a failed configure there is no run in the trainer to reset, so build one.
    if (run !== configuredRun) {
      await get().configure(run);
      return;
    }
    set({ metrics: [], latestMetrics: null, statusNote: null, error: null });
    try {
      await getTrainer().reset();
    } catch (error) {
      set({ status: 'error', configuredRun: null, error: { kind: 'reset', message: errorMessage(error) } });
    }
  },

  applyEvent(event) {
    switch (event.type) {
      case 'metrics':
        set({
          latestMetrics: event,
          metrics: appendMetric(get().metrics, { step: event.step, loss: event.loss, accuracy: event.accuracy }),
        });
        break;
      case 'probe':
        set({ probe: event });
        break;
      case 'status':
        if (event.status === 'error') {
          // The engine may be unusable after an error, so the next Train builds the run again.
          set({
            status: 'error',
            statusNote: null,
            pausing: false,
            configuredRun: null,
            error: { kind: 'training', message: event.message ?? 'the trainer sent no message' },
          });
          break;
        }
        set({ status: event.status, statusNote: event.message, ...(event.status !== 'running' ? { pausing: false } : {}) });
        break;
      case 'engine':
        // The trainer sends this after building a run, so later metrics start a new history.
        set({ engine: event.info, metrics: [], latestMetrics: null });
        break;
    }
  },

  dismissError() {
    set({ error: null });
  },

  resetRunSlice() {
    configureQueue = Promise.resolve();
    set(initialRun);
  },
});
