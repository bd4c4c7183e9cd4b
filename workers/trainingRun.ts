/**
 * One run's training state: its engine, data stream, probe sequence, step count and
 * training time. The trainer holds one at a time, and the run queue holds one per run
 * that has started. Like the trainer, it works unchanged under Node.
 */
import { createEngine } from '../src/engine/create';
import { checkTrainingState, type Batch, type Engine } from '../src/engine/types';
import type { ScanKind } from '../src/engine/webgpu/graph';
import { buildModelLayout, initModelParams } from '../src/model/models';
import { Rng } from '../src/model/random';
import type { EngineInfo, MetricsEvent, ProbeEvent, RunConfig, TrainingCheckpoint } from '../src/protocol';
import { generateBatch, probeSequence, type TaskSequence } from '../src/tasks';
import { validateRun } from './validateRun';

export interface TrainingRunOptions {
  /** navigator.gpu in a browser or worker, the `webgpu` package's GPU under Node; undefined when absent. */
  gpu: GPU | undefined;
  /** Selective scan of the WebGPU engine's training step; when omitted, createEngine picks by adapter. */
  scan?: ScanKind;
  /** Receives device loss and uncaptured GPU errors after the engine is built. */
  onDeviceError?: (message: string) => void;
  /** Clock in milliseconds; tests may replace it. */
  now?: () => number;
}

export class TrainingRun {
  /** Optimizer steps done; the next step is `step + 1`. */
  step = 0;
  /** Training wall time summed over metric reads, in milliseconds. */
  elapsedMs = 0;

  private constructor(
    readonly run: RunConfig,
    readonly engine: Engine,
    readonly info: EngineInfo,
    private readonly dataRng: Rng,
    private readonly probeSeq: TaskSequence,
    private readonly now: () => number,
  ) {}

  /**
   * Validates the run, then builds its engine with the initial weights from the seed,
   * or with the weights, optimizer state, step and data stream of a checkpoint of this
   * run. Throws ConfigError for a bad config, and RangeError for a checkpoint that does
   * not fit the run's model or steps.
   */
  static async create(run: RunConfig, options: TrainingRunOptions, checkpoint?: TrainingCheckpoint): Promise<TrainingRun> {
    const { config, train } = validateRun(run);
    const layout = buildModelLayout(config);
    let dataRngState: number | null = null;
    if (checkpoint) {
      if (!Number.isInteger(checkpoint.step) || checkpoint.step < 0 || (run.max_steps > 0 && checkpoint.step > run.max_steps)) {
        throw new RangeError(
          `the checkpoint's step ${checkpoint.step} is invalid for this run: it must be an integer from 0 to max_steps = ${run.max_steps}`,
        );
      }
      if (!(Number.isFinite(checkpoint.elapsedMs) && checkpoint.elapsedMs >= 0)) {
        throw new RangeError(`the checkpoint's training time ${checkpoint.elapsedMs} ms is invalid: it must be a number of 0 or more`);
      }
      dataRngState = Rng.fromState(checkpoint.dataRngState).savedState;
      checkTrainingState(checkpoint, layout.totalSize);
    }
    const params = checkpoint ? checkpoint.params : initModelParams(config, layout, train.seed);
    const created = await createEngine(config, train, params, {
      preference: run.engine,
      gpu: options.gpu,
      onDeviceError: options.onDeviceError,
      scan: options.scan,
    });
    const info: EngineInfo = {
      kind: created.engine.kind,
      description: created.engine.description,
      fallbackReason: created.fallbackReason,
      parameterCount: layout.count,
    };
    // The data stream and the probe have their own seeds, derived from the run's seed.
    const dataRng = dataRngState === null ? new Rng(train.seed * 2 + 1) : Rng.fromState(dataRngState);
    const probeSeq = probeSequence(run.task, train.seq_len, train.seed + 1000);
    const training = new TrainingRun(run, created.engine, info, dataRng, probeSeq, options.now ?? (() => performance.now()));
    if (checkpoint) {
      try {
        created.engine.writeTrainingState(checkpoint);
      } catch (error) {
        created.engine.dispose();
        throw error;
      }
      training.step = checkpoint.step;
      training.elapsedMs = checkpoint.elapsedMs;
    }
    return training;
  }

  /** Reads the run's progress for a later TrainingRun.create. */
  async checkpoint(): Promise<TrainingCheckpoint> {
    const state = await this.engine.readTrainingState();
    return { ...state, step: this.step, elapsedMs: this.elapsedMs, dataRngState: this.dataRng.savedState };
  }

  /** True once max_steps steps are done; never for max_steps = 0. */
  get reachedMax(): boolean {
    return this.run.max_steps > 0 && this.step >= this.run.max_steps;
  }

  /** Draws the next batch of the run's data stream. */
  nextBatch(): Batch {
    const { batch_size: b, seq_len: l } = this.run.train;
    return generateBatch(this.run.task, b, l, this.dataRng);
  }

  /** Runs one optimizer step on the batch and waits until the engine has finished it. */
  async trainStep(batch: Batch): Promise<void> {
    this.step++;
    this.engine.step(batch, this.step, this.run.train.learning_rate);
    // Keep at most one step queued on the GPU, so pause and metrics stay prompt.
    if (this.engine.flush) await this.engine.flush();
  }

  /**
   * Reads the loss and accuracy averaged over the `steps` steps since the last read.
   * The interval's training time runs from `since` until the read returns, and is
   * added to elapsedMs.
   */
  async readMetrics(steps: number, since: number): Promise<MetricsEvent> {
    const m = await this.engine.readMetrics();
    const wallMs = this.now() - since;
    this.elapsedMs += wallMs;
    const seconds = wallMs / 1000;
    const { batch_size: b, seq_len: l } = this.run.train;
    return {
      type: 'metrics',
      step: this.step,
      loss: m.loss,
      accuracy: m.accuracy,
      msPerStep: wallMs / steps,
      stepsPerSecond: steps / seconds,
      tokensPerSecond: (steps * b * l) / seconds,
      elapsedMs: this.elapsedMs,
    };
  }

  /** Runs the task's fixed probe sequence through the model now. */
  async probe(): Promise<ProbeEvent> {
    const seq = this.probeSeq;
    const result = await this.engine.probe(seq.tokens);
    const config = this.engine.config;
    return {
      type: 'probe',
      step: this.step,
      architecture: config.architecture,
      tokens: Array.from(seq.tokens),
      roles: seq.roles,
      delta: result.delta,
      states: result.states,
      attention: result.attention,
      predictions: Array.from(result.predictions),
      d_inner: config.architecture === 'mamba' ? config.d_inner : 0,
      d_state: config.architecture === 'mamba' ? config.d_state : 0,
      n_head: config.architecture === 'transformer' ? config.n_head : 0,
    };
  }

  /** Frees the engine; the run is unusable afterwards. */
  dispose(): void {
    this.engine.dispose();
  }
}
