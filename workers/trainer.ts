/**
 * The trainer owns one engine and runs training, metrics and probes. It runs in
 * the Web Worker (trainer.worker.ts exposes it with comlink) and, unchanged,
 * under Node for the command line.
 */
import { runScanBench } from '../src/bench/scanBench';
import { createEngine, requestDevice } from '../src/engine/create';
import type { Engine } from '../src/engine/types';
import type { ScanKind } from '../src/engine/webgpu/graph';
import { ConfigError, validateTrainConfig, type FieldError } from '../src/model/config';
import { buildModelLayout, checkModelForLength, initModelParams, resolveModelConfig } from '../src/model/models';
import { Rng } from '../src/model/random';
import type { ScanBenchPoint, ScanBenchResult } from '../src/bench/scanBench';
import type {
  EngineInfo, ProbeEvent, RunConfig, RunStatus, ScanBenchRequest, StepTimings, TrainerApi, TrainerEvent,
} from '../src/protocol';
import { generateBatch, probeSequence, validateTask, type TaskSequence } from '../src/tasks';

export interface TrainerOptions {
  /** Returns the WebGPU entry point: navigator.gpu in a browser, the `webgpu` package's GPU under Node. */
  gpu: () => GPU | undefined;
  /** Wall time between metric reads, in milliseconds; each read waits for the GPU. */
  metricsIntervalMs?: number;
  /** Wall time between probe events while training, in milliseconds. */
  probeIntervalMs?: number;
  /** Selective scan of the WebGPU engine's training step; when omitted, createEngine picks by adapter. */
  scan?: ScanKind;
  /** Clock in milliseconds; tests may replace it. */
  now?: () => number;
}

/** Checks a run config where it enters; throws ConfigError listing every bad field. */
export function validateRun(run: RunConfig) {
  const errors: FieldError[] = [];
  const collect = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ConfigError) errors.push(...err.errors);
      else throw err;
      return undefined;
    }
  };
  const config = collect(() => resolveModelConfig(run.model));
  const train = collect(() => validateTrainConfig(run.train));
  errors.push(...validateTask(run.task, run.train.seq_len));
  if (run.model.vocab_size !== run.task.vocab_size) {
    errors.push({
      field: 'vocab_size',
      message: `model vocab_size = ${run.model.vocab_size} does not match the task's vocab_size = ${run.task.vocab_size}: set both to the same value`,
    });
  }
  if (config) errors.push(...checkModelForLength(config, run.train.seq_len));
  if (!Number.isInteger(run.max_steps) || run.max_steps < 0) {
    errors.push({ field: 'max_steps', message: `max_steps = ${run.max_steps} is invalid: use 0 for no limit or a positive integer such as 2000` });
  }
  if (errors.length > 0 || !config || !train) throw new ConfigError(errors);
  return { config, train };
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export class Trainer implements TrainerApi {
  private readonly listeners: ((event: TrainerEvent) => void)[] = [];
  private readonly gpu: () => GPU | undefined;
  private readonly metricsIntervalMs: number;
  private readonly probeIntervalMs: number;
  private readonly now: () => number;
  private readonly scan: ScanKind | undefined;

  private run: RunConfig | null = null;
  private engine: Engine | null = null;
  private info: EngineInfo | null = null;
  private probeSeq: TaskSequence | null = null;
  private dataRng: Rng | null = null;
  private stepCount = 0;
  private elapsedMs = 0;
  private status: RunStatus = 'idle';
  private stopRequested = false;
  private loop: Promise<void> | null = null;

  constructor(options: TrainerOptions) {
    this.gpu = options.gpu;
    this.metricsIntervalMs = options.metricsIntervalMs ?? 250;
    this.probeIntervalMs = options.probeIntervalMs ?? 1000;
    this.now = options.now ?? (() => performance.now());
    this.scan = options.scan;
  }

  async subscribe(listener: (event: TrainerEvent) => void): Promise<void> {
    this.listeners.push(listener);
  }

  private emit(event: TrainerEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private setStatus(status: RunStatus, message: string | null = null): void {
    this.status = status;
    this.emit({ type: 'status', status, message });
  }

  get currentStep(): number {
    return this.stepCount;
  }

  get currentStatus(): RunStatus {
    return this.status;
  }

  async configure(run: RunConfig): Promise<EngineInfo> {
    const { config, train } = validateRun(run);
    await this.pause();
    this.disposeEngine();

    const layout = buildModelLayout(config);
    const params = initModelParams(config, layout, train.seed);
    const created = await createEngine(config, train, params, {
      preference: run.engine,
      gpu: this.gpu(),
      onDeviceError: (message) => this.fail(`GPU error: ${message}`),
      scan: this.scan,
    });
    this.engine = created.engine;
    this.run = run;
    this.info = {
      kind: created.engine.kind,
      description: created.engine.description,
      fallbackReason: created.fallbackReason,
      parameterCount: layout.count,
    };
    // The data stream and the probe have their own seeds, derived from the run's seed.
    this.dataRng = new Rng(train.seed * 2 + 1);
    this.probeSeq = probeSequence(run.task, train.seq_len, train.seed + 1000);
    this.stepCount = 0;
    this.elapsedMs = 0;
    this.emit({ type: 'engine', info: this.info });
    this.setStatus('idle');
    await this.probe();
    return this.info;
  }

  async start(): Promise<void> {
    if (!this.engine || !this.run) throw new Error('no run is configured: call configure(run) before start()');
    if (this.loop) return;
    if (this.run.max_steps > 0 && this.stepCount >= this.run.max_steps) {
      this.setStatus('done', `reached max_steps = ${this.run.max_steps}`);
      return;
    }
    this.stopRequested = false;
    this.setStatus('running');
    this.loop = this.trainLoop().finally(() => {
      this.loop = null;
    });
  }

  async pause(): Promise<void> {
    if (!this.loop) return;
    this.stopRequested = true;
    await this.loop;
  }

  /** Resolves when the training loop ends, by pause, max_steps or an error. */
  async finished(): Promise<void> {
    if (this.loop) await this.loop;
  }

  async reset(): Promise<void> {
    if (!this.run) return;
    await this.configure(this.run);
  }

  async probe(): Promise<ProbeEvent> {
    if (!this.engine || !this.probeSeq || !this.run) throw new Error('no run is configured: call configure(run) before probe()');
    const seq = this.probeSeq;
    const result = await this.engine.probe(seq.tokens);
    const config = this.engine.config;
    const event: ProbeEvent = {
      type: 'probe',
      step: this.stepCount,
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
    this.emit(event);
    return event;
  }

  async benchScan(options: ScanBenchRequest, onPoint?: (point: ScanBenchPoint) => void): Promise<ScanBenchResult> {
    await this.pause();
    const created = await requestDevice(this.gpu(), ['timestamp-query']);
    if ('reason' in created) throw new Error(`the scan benchmark needs WebGPU, and ${created.reason}`);
    try {
      return await runScanBench(created.device, created.adapterName, { ...options, onPoint });
    } finally {
      created.device.destroy();
    }
  }

  /**
   * Runs `warmup` untimed training steps, then times `steps` more, each from
   * engine.step until the engine has finished it (flush on WebGPU), so device
   * work is counted. The model trains and the step count advances as in start(),
   * but no events are emitted. Batch generation is outside the timed span.
   */
  async benchmark(steps: number, warmup: number): Promise<StepTimings> {
    if (!this.engine || !this.run) throw new Error('no run is configured: call configure(run) before benchmark()');
    if (this.loop) throw new Error('training is running: call pause() before benchmark()');
    const engine = this.engine;
    const { batch_size: b, seq_len: l, learning_rate: lr } = this.run.train;
    const stepMs: number[] = [];
    for (let i = 0; i < warmup + steps; i++) {
      const batch = generateBatch(this.run.task, b, l, this.dataRng!);
      this.stepCount++;
      const start = this.now();
      engine.step(batch, this.stepCount, lr);
      if (engine.flush) await engine.flush();
      if (i >= warmup) stepMs.push(this.now() - start);
    }
    return { stepMs, tokensPerStep: b * l };
  }

  /** Copies the current weights out, in the layout of buildModelLayout; call while training is paused or finished. */
  async readParams(): Promise<Float32Array> {
    if (!this.engine) throw new Error('no run is configured: call configure(run) before readParams()');
    return this.engine.readParams();
  }

  async dispose(): Promise<void> {
    await this.pause();
    this.disposeEngine();
    this.listeners.length = 0;
  }

  private disposeEngine(): void {
    this.engine?.dispose();
    this.engine = null;
  }

  private fail(message: string): void {
    this.stopRequested = true;
    this.setStatus('error', message);
  }

  private async trainLoop(): Promise<void> {
    const engine = this.engine!;
    const run = this.run!;
    const { batch_size: b, seq_len: l, learning_rate: lr } = run.train;
    let intervalStart = this.now();
    let intervalSteps = 0;
    let lastProbe = this.now();
    let lastYield = this.now();

    try {
      while (!this.stopRequested) {
        const batch = generateBatch(run.task, b, l, this.dataRng!);
        this.stepCount++;
        engine.step(batch, this.stepCount, lr);
        intervalSteps++;
        // Keep at most one step queued on the GPU, so pause and metrics stay prompt.
        if (engine.flush) await engine.flush();

        const reachedMax = run.max_steps > 0 && this.stepCount >= run.max_steps;
        const t = this.now();
        if (t - intervalStart >= this.metricsIntervalMs || reachedMax) {
          await this.emitMetrics(engine, intervalSteps, intervalStart, b * l);
          intervalStart = this.now();
          intervalSteps = 0;
        }
        if (t - lastProbe >= this.probeIntervalMs || reachedMax) {
          await this.probe();
          lastProbe = this.now();
        }
        if (reachedMax) {
          this.setStatus('done', `reached max_steps = ${run.max_steps}`);
          return;
        }
        // Let pause and other messages in between steps.
        if (this.now() - lastYield >= 15) {
          await yieldToEventLoop();
          lastYield = this.now();
        }
      }
      if (intervalSteps > 0) await this.emitMetrics(engine, intervalSteps, intervalStart, b * l);
      // Show Δ and the states at the step where training stopped.
      if (this.status === 'running') {
        await this.probe();
        this.setStatus('paused');
      }
    } catch (err) {
      this.setStatus('error', err instanceof Error ? err.message : String(err));
    }
  }

  private async emitMetrics(engine: Engine, steps: number, since: number, tokensPerStep: number): Promise<void> {
    const m = await engine.readMetrics();
    const wall = this.now() - since;
    this.elapsedMs += wall;
    const seconds = wall / 1000;
    this.emit({
      type: 'metrics',
      step: this.stepCount,
      loss: m.loss,
      accuracy: m.accuracy,
      msPerStep: wall / steps,
      stepsPerSecond: steps / seconds,
      tokensPerSecond: (steps * tokensPerStep) / seconds,
      elapsedMs: this.elapsedMs,
    });
  }
}
