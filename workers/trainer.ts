/**
 * The trainer owns one engine and runs training, metrics and probes. It runs in
 * the Web Worker (trainer.worker.ts exposes it with comlink) and, unchanged,
 * under Node for the command line.
 */
import { runMemorySpeedBench } from '../src/bench/memorySpeed';
import type { MemorySpeedPoint, MemorySpeedRequest, MemorySpeedResult } from '../src/bench/memorySpeedTypes';
import { runScanBench } from '../src/bench/scanBench';
import { requestDevice } from '../src/engine/create';
import type { ScanKind } from '../src/engine/webgpu/graph';
import type { ScanBenchPoint, ScanBenchResult } from '../src/bench/scanBench';
import type {
  EngineInfo, ProbeEvent, RunConfig, RunStatus, ScanBenchRequest, StepTimings, TrainerApi, TrainerEvent,
} from '../src/protocol';
import { TrainingRun } from './trainingRun';
import { validateRun } from './validateRun';

export { validateRun } from './validateRun';

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
  /** Runs before training starts or resumes; the worker pauses the run queue here, so the two never train at once. */
  beforeStart?: () => Promise<void>;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export class Trainer implements TrainerApi {
  private readonly listeners: ((event: TrainerEvent) => void)[] = [];
  private readonly gpu: () => GPU | undefined;
  private readonly metricsIntervalMs: number;
  private readonly probeIntervalMs: number;
  private readonly now: () => number;
  private readonly scan: ScanKind | undefined;
  private readonly beforeStart: (() => Promise<void>) | undefined;

  private current: TrainingRun | null = null;
  private status: RunStatus = 'idle';
  private stopRequested = false;
  private loop: Promise<void> | null = null;

  constructor(options: TrainerOptions) {
    this.gpu = options.gpu;
    this.metricsIntervalMs = options.metricsIntervalMs ?? 250;
    this.probeIntervalMs = options.probeIntervalMs ?? 1000;
    this.now = options.now ?? (() => performance.now());
    this.scan = options.scan;
    this.beforeStart = options.beforeStart;
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
    return this.current?.step ?? 0;
  }

  get currentStatus(): RunStatus {
    return this.status;
  }

  async configure(run: RunConfig): Promise<EngineInfo> {
    validateRun(run);
    await this.pause();
    this.disposeRun();

    this.current = await TrainingRun.create(run, {
      gpu: this.gpu(),
      scan: this.scan,
      onDeviceError: (message) => this.fail(`GPU error: ${message}`),
      now: this.now,
    });
    this.emit({ type: 'engine', info: this.current.info });
    this.setStatus('idle');
    await this.probe();
    return this.current.info;
  }

  async start(): Promise<void> {
    if (!this.current) throw new Error('no run is configured: call configure(run) before start()');
    if (this.loop) return;
    if (this.current.reachedMax) {
      this.setStatus('done', `reached max_steps = ${this.current.run.max_steps}`);
      return;
    }
    await this.beforeStart?.();
    // A pause or configure may have come in while beforeStart waited.
    if (this.loop || !this.current) return;
    this.stopRequested = false;
    this.setStatus('running');
    this.loop = this.trainLoop(this.current).finally(() => {
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
    if (!this.current) return;
    await this.configure(this.current.run);
  }

  async probe(): Promise<ProbeEvent> {
    if (!this.current) throw new Error('no run is configured: call configure(run) before probe()');
    const event = await this.current.probe();
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

  async benchMemorySpeed(request: MemorySpeedRequest, onPoint?: (point: MemorySpeedPoint) => void): Promise<MemorySpeedResult> {
    await this.pause();
    const created = await requestDevice(this.gpu(), ['timestamp-query']);
    if ('reason' in created) throw new Error(`the memory and speed sweep needs WebGPU, and ${created.reason}`);
    try {
      return await runMemorySpeedBench(created.device, created.adapterName, { ...request, onPoint });
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
    if (!this.current) throw new Error('no run is configured: call configure(run) before benchmark()');
    if (this.loop) throw new Error('training is running: call pause() before benchmark()');
    const current = this.current;
    const { batch_size: b, seq_len: l } = current.run.train;
    const stepMs: number[] = [];
    for (let i = 0; i < warmup + steps; i++) {
      const batch = current.nextBatch();
      const start = this.now();
      await current.trainStep(batch);
      if (i >= warmup) stepMs.push(this.now() - start);
    }
    return { stepMs, tokensPerStep: b * l };
  }

  /** Copies the current weights out, in the layout of buildModelLayout; call while training is paused or finished. */
  async readParams(): Promise<Float32Array> {
    if (!this.current) throw new Error('no run is configured: call configure(run) before readParams()');
    return this.current.engine.readParams();
  }

  async dispose(): Promise<void> {
    await this.pause();
    this.disposeRun();
    this.listeners.length = 0;
  }

  private disposeRun(): void {
    this.current?.dispose();
    this.current = null;
  }

  private fail(message: string): void {
    this.stopRequested = true;
    this.setStatus('error', message);
  }

  private async trainLoop(current: TrainingRun): Promise<void> {
    let intervalStart = this.now();
    let intervalSteps = 0;
    let lastProbe = this.now();
    let lastYield = this.now();

    try {
      while (!this.stopRequested) {
        await current.trainStep(current.nextBatch());
        intervalSteps++;

        const reachedMax = current.reachedMax;
        const t = this.now();
        if (t - intervalStart >= this.metricsIntervalMs || reachedMax) {
          this.emit(await current.readMetrics(intervalSteps, intervalStart));
          intervalStart = this.now();
          intervalSteps = 0;
        }
        if (t - lastProbe >= this.probeIntervalMs || reachedMax) {
          await this.probe();
          lastProbe = this.now();
        }
        if (reachedMax) {
          this.setStatus('done', `reached max_steps = ${current.run.max_steps}`);
          return;
        }
        // Let pause and other messages in between steps.
        if (this.now() - lastYield >= 15) {
          await yieldToEventLoop();
          lastYield = this.now();
        }
      }
      if (intervalSteps > 0) this.emit(await current.readMetrics(intervalSteps, intervalStart));
      // Show Δ and the states at the step where training stopped.
      if (this.status === 'running') {
        await this.probe();
        this.setStatus('paused');
      }
    } catch (err) {
      this.setStatus('error', err instanceof Error ? err.message : String(err));
    }
  }
}
