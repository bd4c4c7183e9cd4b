/**
 * The run queue: trains the ablation studio's runs in the trainer's worker, one after
 * another or interleaved in slices of steps, each run with its own engine, data stream
 * and step count (a TrainingRun). A run that fails is reported with an 'error' status
 * and the queue goes on with the others. Like the trainer, it works unchanged under Node.
 */
import type { ScanKind } from '../src/engine/webgpu/graph';
import type {
  QueueEvent, QueueMode, QueueRunSnapshot, QueueRunSpec, QueueState, RunQueueApi,
} from '../src/studio/queueProtocol';
import { INTERLEAVE_STEPS, QUEUE_MODES } from '../src/studio/queueProtocol';
import type { StudioRunStatus } from '../src/studio/types';
import { TrainingRun } from './trainingRun';
import { validateRun } from './validateRun';

export interface RunQueueOptions {
  /** Returns the WebGPU entry point: navigator.gpu in a browser, the `webgpu` package's GPU under Node. */
  gpu: () => GPU | undefined;
  /**
   * Metric readings per run, 100 by default. A run reads its metrics every
   * ceil(max_steps / readingsPerRun) steps and at its last step. Its curve and final
   * figures then depend on its config and seed, not on how fast the machine is.
   */
  readingsPerRun?: number;
  /** Steps a run trains before the next one takes its turn, in interleaved mode. */
  sliceSteps?: number;
  /** Selective scan of the WebGPU engine's training step; when omitted, createEngine picks by adapter. */
  scan?: ScanKind;
  /**
   * Wall time between checkpoints of a run that is training, in milliseconds, 20 s by
   * default; 0 sends one at every metrics read.
   */
  checkpointIntervalMs?: number;
  /** Clock in milliseconds; tests may replace it. */
  now?: () => number;
  /** Runs before the queue starts or resumes; the worker pauses the live trainer here, so the two never train at once. */
  beforeStart?: () => Promise<void>;
}

/** A run in the queue, from enqueue until it finishes, fails or is cancelled. */
interface QueueEntry {
  id: string;
  spec: QueueRunSpec;
  /** The status last sent for this run. */
  status: StudioRunStatus;
  /** Set by pauseRun, so the queue skips the run until it is enqueued again. */
  onHold: boolean;
  /** Built on the run's first turn, freed when it leaves the queue. */
  training: TrainingRun | null;
  /** Set by the engine's device error callback; the run fails after the step in flight. */
  deviceError: string | null;
  /** Steps and training time since the last metrics read. */
  intervalSteps: number;
  intervalMs: number;
  /** Step of the last probe sent; -1 before the first. */
  probedStep: number;
  /** Step of the last checkpoint sent, -1 before the first. */
  checkpointStep: number;
  /** Clock time of the last checkpoint, or of the engine's build before the first. */
  checkpointAt: number;
  /** In flight while the run is being paused: its last metrics, probe and status. */
  settling: Promise<void> | null;
  /** Set by cancelRun and cancel; the run stops after its step in flight and is then released. */
  cancelled: boolean;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class RunQueue implements RunQueueApi {
  private readonly listeners: ((event: QueueEvent) => void)[] = [];
  private readonly gpu: () => GPU | undefined;
  private readonly readingsPerRun: number;
  private readonly sliceSteps: number;
  private readonly scan: ScanKind | undefined;
  private readonly checkpointIntervalMs: number;
  private readonly now: () => number;
  private readonly beforeStart: (() => Promise<void>) | undefined;

  private entries: QueueEntry[] = [];
  private mode: QueueMode = 'sequential';
  private state: QueueState = 'idle';
  /** The run that trained last; sequential mode keeps training it until it leaves the queue or is put on hold. */
  private current: QueueEntry | null = null;
  /** The slice of steps in flight, so that pausing or cancelling its run can wait for it. */
  private activeSlice: { entry: QueueEntry; done: Promise<void> } | null = null;
  private loop: Promise<void> | null = null;
  private stopRequested = false;
  /** Set while cancel() stops the loop, which then reports nothing as paused. */
  private cancelling = false;
  private pauseMessage: string | null = null;
  private lastYield = 0;

  constructor(options: RunQueueOptions) {
    this.gpu = options.gpu;
    this.readingsPerRun = options.readingsPerRun ?? 100;
    this.sliceSteps = options.sliceSteps ?? INTERLEAVE_STEPS;
    if (!Number.isInteger(this.sliceSteps) || this.sliceSteps < 1) {
      throw new RangeError(`sliceSteps = ${this.sliceSteps} is invalid: use a positive integer such as 10`);
    }
    this.scan = options.scan;
    this.checkpointIntervalMs = options.checkpointIntervalMs ?? 20_000;
    if (!(this.checkpointIntervalMs >= 0)) {
      throw new RangeError(`checkpointIntervalMs = ${this.checkpointIntervalMs} is invalid: use 0 or more milliseconds, such as 20000`);
    }
    this.now = options.now ?? (() => performance.now());
    this.beforeStart = options.beforeStart;
  }

  async subscribe(listener: (event: QueueEvent) => void): Promise<void> {
    this.listeners.push(listener);
  }

  private emit(event: QueueEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  get currentState(): QueueState {
    return this.state;
  }

  private setState(state: QueueState, message: string | null = null): void {
    this.state = state;
    this.emit({ type: 'queue', state, message });
  }

  private setRunStatus(entry: QueueEntry, status: StudioRunStatus, message: string | null = null): void {
    entry.status = status;
    this.emit({ type: 'run-status', runId: entry.id, status, message });
  }

  private find(id: string): QueueEntry | undefined {
    return this.entries.find((entry) => entry.id === id && !entry.cancelled);
  }

  async enqueue(runs: QueueRunSpec[]): Promise<void> {
    for (const spec of runs) {
      const known = this.find(spec.id);
      if (known) {
        if (known.onHold) {
          known.onHold = false;
          if (known.settling) await known.settling;
          this.setRunStatus(known, 'queued');
        }
        continue;
      }

      const problem = this.checkSpec(spec);
      if (problem) {
        this.emit({ type: 'run-status', runId: spec.id, status: 'error', message: problem });
        continue;
      }
      this.entries.push({
        id: spec.id,
        spec,
        status: 'queued',
        onHold: false,
        training: null,
        deviceError: null,
        intervalSteps: 0,
        intervalMs: 0,
        probedStep: -1,
        checkpointStep: -1,
        checkpointAt: 0,
        settling: null,
        cancelled: false,
      });
    }
  }

  /** Returns why a run cannot be queued, or null when it can. */
  private checkSpec(spec: QueueRunSpec): string | null {
    try {
      validateRun(spec.config);
    } catch (error) {
      return errorText(error);
    }
    if (spec.config.max_steps <= 0) {
      return `max_steps = ${spec.config.max_steps} is invalid for a queued run: use a positive integer such as 2000`;
    }
    return null;
  }

  async setOrder(ids: string[]): Promise<void> {
    const listed = ids.map((id) => this.find(id)).filter((entry): entry is QueueEntry => entry !== undefined);
    const rest = this.entries.filter((entry) => !listed.includes(entry));
    this.entries = [...listed, ...rest];
  }

  async setMode(mode: QueueMode): Promise<void> {
    if (!QUEUE_MODES.includes(mode)) {
      throw new RangeError(`queue mode "${String(mode)}" is unknown: use ${QUEUE_MODES.join(' or ')}`);
    }
    this.mode = mode;
  }

  async start(): Promise<void> {
    if (this.loop) return;
    if (!this.pickNext()) {
      this.setState('idle');
      return;
    }
    await this.beforeStart?.();
    // Another start may have begun while beforeStart waited.
    if (this.loop) return;
    this.stopRequested = false;
    this.pauseMessage = null;
    this.setState('running');
    this.loop = this.runLoop().finally(() => {
      this.loop = null;
    });
  }

  /** Stops after the step in flight; `message` gives the reason, such as live training starting. */
  async pause(message: string | null = null): Promise<void> {
    if (!this.loop) return;
    this.pauseMessage = message;
    this.stopRequested = true;
    await this.loop;
  }

  /** Resolves when the loop ends: every run finished, failed or on hold, or the queue paused. */
  async finished(): Promise<void> {
    if (this.loop) await this.loop;
  }

  /** Does nothing for a run no longer in the queue, such as one that has just finished. */
  async pauseRun(id: string): Promise<void> {
    const entry = this.find(id);
    if (!entry) return;
    entry.onHold = true;
    if (this.activeSlice?.entry === entry) await this.activeSlice.done;
    // The run may have finished or failed in its last slice.
    if (!this.entries.includes(entry) || entry.status === 'paused') return;
    await this.settle(entry);
  }

  /** Does nothing for a run no longer in the queue. */
  async cancelRun(id: string): Promise<void> {
    const entry = this.find(id);
    if (!entry) return;
    entry.cancelled = true;
    if (this.activeSlice?.entry === entry) await this.activeSlice.done;
    await this.releaseCancelled(entry);
  }

  async cancel(): Promise<void> {
    const cancelled = this.entries.filter((entry) => !entry.cancelled);
    for (const entry of cancelled) entry.cancelled = true;
    this.stopRequested = true;
    this.cancelling = true;
    try {
      if (this.loop) await this.loop;
    } finally {
      this.cancelling = false;
    }
    for (const entry of cancelled) await this.releaseCancelled(entry);
    this.current = null;
    this.setState('idle');
  }

  /** Frees a cancelled run once its slice and any pause in flight are over, and reports it. */
  private async releaseCancelled(entry: QueueEntry): Promise<void> {
    if (entry.settling) await entry.settling;
    // A run that finished or failed in its last slice has already been reported and freed.
    if (!this.entries.includes(entry)) return;
    const step = entry.training?.step ?? 0;
    this.release(entry);
    this.emit({ type: 'run-cancelled', runId: entry.id, step });
  }

  async snapshot(): Promise<QueueRunSnapshot[]> {
    return this.entries.map((entry) => ({ id: entry.id, status: entry.status, onHold: entry.onHold, step: entry.training?.step ?? 0 }));
  }

  async dispose(): Promise<void> {
    await this.cancel();
    this.listeners.length = 0;
  }

  /** Picks the run for the next slice, or null when none is waiting. */
  private pickNext(): QueueEntry | null {
    const waiting = this.entries.filter((entry) => !entry.onHold && !entry.cancelled);
    if (waiting.length === 0) return null;
    if (this.mode === 'sequential') {
      return this.current && waiting.includes(this.current) ? this.current : waiting[0];
    }
    // Interleaved: the next waiting run after the current one, in queue order.
    const from = this.current ? this.entries.indexOf(this.current) : -1;
    for (let offset = 1; offset <= this.entries.length; offset++) {
      const entry = this.entries[(from + offset) % this.entries.length];
      if (!entry.onHold && !entry.cancelled) return entry;
    }
    return null;
  }

  private async runLoop(): Promise<void> {
    this.lastYield = this.now();
    while (!this.stopRequested) {
      const entry = this.pickNext();
      if (!entry) break;
      this.current = entry;
      const done = this.trainSlice(entry);
      this.activeSlice = { entry, done };
      await done;
      this.activeSlice = null;
    }
    if (!this.stopRequested) {
      this.setState('idle');
      return;
    }
    if (this.cancelling) return;
    // Show the last metrics and Δ of every run that was training, at the step where it stopped.
    for (const entry of this.entries) {
      if (entry.status === 'running') await this.settle(entry);
    }
    this.setState('paused', this.pauseMessage);
  }

  /** Trains one run for its slice: to its end in sequential mode, sliceSteps steps when interleaved. A failure marks the run 'error' instead of rejecting. */
  private async trainSlice(entry: QueueEntry): Promise<void> {
    const limit = this.mode === 'interleaved' ? this.sliceSteps : Infinity;
    try {
      if (entry.settling) await entry.settling;
      const training = entry.training ?? (await this.build(entry));
      if (entry.cancelled) return;
      if (entry.status !== 'running') this.setRunStatus(entry, 'running');

      for (let n = 0; n < limit; n++) {
        if (this.stopRequested || entry.onHold || entry.cancelled) return;
        const stepStart = this.now();
        await training.trainStep(training.nextBatch());
        entry.intervalMs += this.now() - stepStart;
        entry.intervalSteps++;
        if (entry.deviceError) throw new Error(entry.deviceError);

        const reachedMax = training.reachedMax;
        const stepsPerReading = Math.max(1, Math.ceil(training.run.max_steps / this.readingsPerRun));
        if (reachedMax || training.step % stepsPerReading === 0) {
          await this.sendMetrics(entry, training);
          if (!reachedMax && this.now() - entry.checkpointAt >= this.checkpointIntervalMs) {
            await this.sendCheckpoint(entry, training);
          }
        }
        if (reachedMax) {
          await this.finish(entry, training);
          return;
        }
        // Let pause, cancel and other messages in between steps.
        if (this.now() - this.lastYield >= 15) {
          await yieldToEventLoop();
          this.lastYield = this.now();
        }
      }
    } catch (error) {
      this.fail(entry, errorText(error));
    }
  }

  /** Builds the run's engine with fresh weights at step 0, or from the checkpoint its spec carries. */
  private async build(entry: QueueEntry): Promise<TrainingRun> {
    const { checkpoint, ...spec } = entry.spec;
    // A checkpoint is used once: a cancelled run that is queued again starts afresh.
    entry.spec = spec;
    const options = {
      gpu: this.gpu(),
      scan: this.scan,
      now: this.now,
      onDeviceError: (message: string) => {
        entry.deviceError = `GPU error: ${message}`;
      },
    };
    let training: TrainingRun;
    try {
      training = await TrainingRun.create(spec.config, options, checkpoint);
    } catch (error) {
      if (!checkpoint || !(error instanceof RangeError)) throw error;
      throw new Error(`restoring its saved progress at step ${checkpoint.step} failed (${errorText(error)}): resume it again to train from step 0`);
    }
    entry.training = training;
    entry.checkpointStep = training.step;
    entry.checkpointAt = this.now();
    this.emit({ type: 'run-engine', runId: entry.id, info: training.info, step: training.step, elapsedMs: training.elapsedMs });
    return training;
  }

  /**
   * Sends the run's progress, after a probe at the same step, unless a checkpoint at this
   * step was sent already. After a reload the run then shows its Δ at the step it resumes from.
   */
  private async sendCheckpoint(entry: QueueEntry, training: TrainingRun): Promise<void> {
    if (entry.checkpointStep === training.step) return;
    if (entry.probedStep !== training.step) await this.sendProbe(entry, training);
    const checkpoint = await training.checkpoint();
    entry.checkpointStep = checkpoint.step;
    entry.checkpointAt = this.now();
    this.emit({ type: 'run-checkpoint', runId: entry.id, checkpoint });
  }

  /**
   * Sends the loss and accuracy since the last read. The interval's time is the run's
   * own training time, without the turns of other runs, plus the read itself.
   */
  private async sendMetrics(entry: QueueEntry, training: TrainingRun): Promise<void> {
    if (entry.intervalSteps === 0) return;
    const metrics = await training.readMetrics(entry.intervalSteps, this.now() - entry.intervalMs);
    entry.intervalSteps = 0;
    entry.intervalMs = 0;
    this.emit({ type: 'run-metrics', runId: entry.id, metrics });
  }

  private async sendProbe(entry: QueueEntry, training: TrainingRun): Promise<void> {
    const probe = await training.probe();
    entry.probedStep = probe.step;
    this.emit({ type: 'run-probe', runId: entry.id, probe });
  }

  /** Sends the finished run's probe and weights, frees its engine and reports it done. */
  private async finish(entry: QueueEntry, training: TrainingRun): Promise<void> {
    await this.sendProbe(entry, training);
    const params = await training.engine.readParams();
    this.emit({ type: 'run-weights', runId: entry.id, step: training.step, params });
    this.release(entry);
    this.setRunStatus(entry, 'done', `reached max_steps = ${training.run.max_steps}`);
  }

  /** Reports a paused run: its last metrics, a probe at its step when it has trained since the last one, then the status. */
  private settle(entry: QueueEntry): Promise<void> {
    if (entry.settling) return entry.settling;
    entry.settling = (async () => {
      try {
        const training = entry.training;
        if (training) {
          await this.sendMetrics(entry, training);
          if (entry.probedStep !== training.step) await this.sendProbe(entry, training);
          await this.sendCheckpoint(entry, training);
        }
        this.setRunStatus(entry, 'paused');
      } catch (error) {
        this.fail(entry, errorText(error));
      } finally {
        entry.settling = null;
      }
    })();
    return entry.settling;
  }

  private fail(entry: QueueEntry, message: string): void {
    this.release(entry);
    this.setRunStatus(entry, 'error', message);
  }

  /** Drops the run from the queue and frees its engine. */
  private release(entry: QueueEntry): void {
    const index = this.entries.indexOf(entry);
    if (this.current === entry) {
      // Interleaved turns go on from the run before this one; sequential mode starts the first waiting run.
      const before = this.entries.length > 1 ? this.entries[(index - 1 + this.entries.length) % this.entries.length] : null;
      this.current = this.mode === 'interleaved' && index >= 0 ? before : null;
    }
    if (index >= 0) this.entries.splice(index, 1);
    entry.training?.dispose();
    entry.training = null;
  }
}
