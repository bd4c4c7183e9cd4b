/**
 * The WebGPU engine: parameters, gradients, AdamW state and every activation
 * live on the GPU, allocated once for the run's batch_size and seq_len. A step
 * uploads the batch and the step uniform, then encodes forward, backward, clip
 * and AdamW into one command buffer and submits it without waiting. Only
 * readMetrics, probe and readParams read back.
 */
import type { ResolvedConfig, TrainConfig } from '../../model/config';
import { buildLayout, type ParamLayout } from '../../model/params';
import type { Batch, Engine, ProbeResult, StepMetrics, TrainingState } from '../types';
import { encodeCommands, GpuContext, readBuffers, type Command } from './context';
import {
  allocateForward, allocateTraining, forwardCommands, trainCommands, type ForwardBuffers, type ScanKind, type TrainBuffers,
} from './graph';
import {
  argmaxRows, checkIds, readStepMetrics, writeStepInputs, readTrainingState, writeTrainingState, type TrainingStateBuffers,
} from './engineIo';

export type { ScanKind } from './graph';

/** Choices of WebGpuEngine.create beyond the model and the run. */
export interface WebGpuEngineOptions {
  /** Scan kernels of the training step: 'fused' (the default) or 'simple', the unfused baseline. */
  scan?: ScanKind;
}

export class WebGpuEngine implements Engine {
  readonly kind = 'webgpu' as const;
  readonly description: string;
  readonly layout: ParamLayout;
  private readonly ctx: GpuContext;
  private readonly params: GPUBuffer;
  private readonly batchBuffers: ForwardBuffers;
  private readonly trainBuffers: TrainBuffers;
  private readonly probeBuffers: ForwardBuffers;
  private stepCommands: Command[] = [];
  private probeCommands: Command[] = [];
  private failure: Error | null = null;
  private disposed = false;
  private readonly onUncapturedError = (event: GPUUncapturedErrorEvent) => {
    this.fail(new Error(`WebGPU error: ${event.error.message}`));
  };

  private constructor(
    private readonly device: GPUDevice,
    adapterDescription: string,
    readonly config: ResolvedConfig,
    readonly train: TrainConfig,
    initialParams: Float32Array,
    private readonly onDeviceError: ((message: string) => void) | undefined,
    readonly scan: ScanKind,
  ) {
    this.description = `WebGPU (${adapterDescription})`;
    this.layout = buildLayout(config);
    if (initialParams.length !== this.layout.totalSize) {
      throw new Error(`initial parameters have ${initialParams.length} floats; the layout needs ${this.layout.totalSize}`);
    }
    device.addEventListener('uncapturederror', this.onUncapturedError);
    device.lost.then((info) => {
      if (!this.disposed) this.fail(new Error(`WebGPU device lost (${info.reason}): ${info.message || 'no message'}`));
    });

    this.ctx = new GpuContext(device);
    this.params = this.ctx.upload('engine: params', initialParams);
    this.batchBuffers = allocateForward(this.ctx, config, train.batch_size, train.seq_len, 'train', scan);
    this.trainBuffers = allocateTraining(this.ctx, config, this.layout, train.batch_size, train.seq_len, scan);
    // Probes run one sequence through buffers of their own, padded to seq_len. The model is causal,
    // so the padding after the probe's tokens does not change the positions that are read back.
    // They use the simple scan, which keeps Δ and every state h_t for the probe to read.
    this.probeBuffers = allocateForward(this.ctx, config, 1, train.seq_len, 'probe', 'simple');
  }

  /**
   * Creates the engine and builds every pipeline; rejects with the kernel name and
   * compiler messages when a shader fails. Takes ownership of the device:
   * dispose() destroys it. Device loss and uncaptured errors go to onDeviceError
   * and make every later call throw.
   */
  static async create(
    device: GPUDevice, adapterDescription: string, config: ResolvedConfig, train: TrainConfig, initialParams: Float32Array,
    onDeviceError?: (message: string) => void, options: WebGpuEngineOptions = {},
  ): Promise<WebGpuEngine> {
    const scan = options.scan ?? 'fused';
    if (scan !== 'fused' && scan !== 'simple') throw new RangeError(`scan = ${String(scan)} is invalid: use 'fused' or 'simple'`);
    // Allocation failures land in this scope, so they can be reported with the sizes that caused them.
    device.pushErrorScope('out-of-memory');
    let engine: WebGpuEngine | null = null;
    let failure: unknown = null;
    try {
      engine = new WebGpuEngine(device, adapterDescription, config, train, initialParams, onDeviceError, scan);
      await engine.build();
    } catch (err) {
      failure = err;
    }
    const outOfMemory = await device.popErrorScope();
    if (outOfMemory) {
      failure = new Error(
        `the GPU ran out of memory allocating the buffers for batch_size = ${train.batch_size}, seq_len = ${train.seq_len}, ` +
          `d_model = ${config.d_model}, n_layer = ${config.n_layer}, d_state = ${config.d_state}: ` +
          'reduce batch_size, seq_len or the model size',
      );
    }
    if (failure || !engine) {
      if (engine) engine.dispose();
      else device.destroy();
      throw failure;
    }
    return engine;
  }

  private async build(): Promise<void> {
    const { ctx, config, layout, params } = this;
    this.stepCommands = [
      ...(await forwardCommands(ctx, config, layout, params, this.batchBuffers, 'train')),
      ...(await trainCommands(ctx, config, layout, params, this.batchBuffers, this.trainBuffers, {
        weightDecay: this.train.weight_decay, gradClip: this.train.grad_clip,
      })),
    ];
    this.probeCommands = await forwardCommands(ctx, config, layout, params, this.probeBuffers, 'probe');
  }

  /** Records the first failure; later errors usually follow from it, so only the first is reported. */
  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.onDeviceError?.(error.message);
  }

  private checkUsable(): void {
    if (this.disposed) throw new Error('the WebGPU engine was disposed; create a new engine');
    if (this.failure) throw this.failure;
  }

  private submit(commands: readonly Command[], label: string): void {
    const encoder = this.device.createCommandEncoder({ label });
    encodeCommands(encoder, commands, `${label}: pass`);
    this.device.queue.submit([encoder.finish()]);
  }

  step(batch: Batch, step: number, learningRate: number): void {
    this.checkUsable();
    const { batchBuffers, trainBuffers } = this;
    writeStepInputs(
      this.device.queue, { ids: batchBuffers.ids, targets: trainBuffers.targets, mask: trainBuffers.mask, step: trainBuffers.step },
      batch, this.train, this.config.vocab_size, step, learningRate,
    );
    this.submit(this.stepCommands, 'train step');
  }

  async flush(): Promise<void> {
    this.checkUsable();
    await this.device.queue.onSubmittedWorkDone();
    // An uncaptured error or device loss reported while the work ran makes this call reject.
    this.checkUsable();
  }

  async readMetrics(): Promise<StepMetrics> {
    this.checkUsable();
    return readStepMetrics(this.device, this.trainBuffers.metrics);
  }

  async probe(tokens: Int32Array): Promise<ProbeResult> {
    this.checkUsable();
    const l = tokens.length;
    const { d_inner: di, d_state: n, vocab_size: vocab } = this.config;
    if (l < 1 || l > this.train.seq_len) {
      throw new RangeError(`probe length ${l} is invalid: use 1 to seq_len = ${this.train.seq_len} tokens`);
    }
    checkIds('probe tokens', tokens, vocab);

    const padded = new Int32Array(this.train.seq_len);
    padded.set(tokens);
    this.device.queue.writeBuffer(this.probeBuffers.ids, 0, padded);
    this.submit(this.probeCommands, 'probe forward');

    // Batch row 0 is the start of each buffer, so the first l positions are a prefix.
    const ranges = [
      ...this.probeBuffers.layers.flatMap((layer) => {
        if (!layer.delta || !layer.states) throw new Error('probe buffers have no Δ or states: allocate them for the simple scan');
        return [
          { buffer: layer.delta, size: l * di * 4 },
          { buffer: layer.states, size: l * di * n * 4 },
        ];
      }),
      { buffer: this.probeBuffers.logits, size: l * vocab * 4 },
    ];
    const data = await readBuffers(this.device, ranges, 'engine: probe');
    const delta = this.probeBuffers.layers.map((_, i) => new Float32Array(data[2 * i]));
    const states = this.probeBuffers.layers.map((_, i) => new Float32Array(data[2 * i + 1]));
    const logits = new Float32Array(data[data.length - 1]);

    const predictions = argmaxRows(logits, l, vocab);
    return { delta, states, attention: [], predictions };
  }

  async readParams(): Promise<Float32Array> {
    this.checkUsable();
    const [data] = await readBuffers(this.device, [{ buffer: this.params, size: this.layout.totalSize * 4 }], 'engine: params');
    return new Float32Array(data);
  }

  async readTrainingState(): Promise<TrainingState> {
    this.checkUsable();
    return readTrainingState(this.device, this.stateBuffers());
  }

  writeTrainingState(state: TrainingState): void {
    this.checkUsable();
    writeTrainingState(this.device.queue, this.stateBuffers(), state);
  }

  private stateBuffers(): TrainingStateBuffers {
    const { m, v } = this.trainBuffers;
    return { params: this.params, m, v, size: this.layout.totalSize };
  }

  /** Gradient norm before clipping and the clip scale of the last step, for diagnostics. */
  async readGradNorm(): Promise<{ norm: number; clipScale: number }> {
    this.checkUsable();
    const [data] = await readBuffers(this.device, [{ buffer: this.trainBuffers.clip, size: 8 }], 'engine: clip');
    const [clipScale, norm] = new Float32Array(data);
    return { norm, clipScale };
  }

  /** Bytes of GPU memory held in buffers. */
  get allocatedBytes(): number {
    return this.ctx.allocatedBytes;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.device.removeEventListener('uncapturederror', this.onUncapturedError);
    this.ctx.destroy();
    this.device.destroy();
  }
}
