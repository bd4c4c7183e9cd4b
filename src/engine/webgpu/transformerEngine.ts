/**
 * The WebGPU engine of the Transformer baseline, the counterpart of WebGpuEngine
 * (engine.ts) for Mamba: parameters, gradients, AdamW state and every
 * activation live on the GPU, allocated once for the run's batch_size and
 * seq_len. A step uploads the batch and the step uniform, then encodes forward,
 * backward, clip and AdamW into one command buffer and submits it without
 * waiting. Only readMetrics, probe and readParams read back.
 */
import type { TrainConfig } from '../../model/config';
import type { ParamLayout } from '../../model/params';
import { buildTransformerLayout, resolveTransformerConfig, type ResolvedTransformerConfig } from '../../model/transformer';
import type { Batch, Engine, ProbeResult, StepMetrics, TrainingState } from '../types';
import { encodeCommands, GpuContext, readBuffers, type Command } from './context';
import {
  argmaxRows, checkIds, readStepMetrics, writeStepInputs, readTrainingState, writeTrainingState, type TrainingStateBuffers,
} from './engineIo';
import {
  allocateTransformerForward, allocateTransformerTraining, transformerForwardCommands, transformerTrainCommands,
  type TransformerForwardBuffers, type TransformerTrainBuffers,
} from './transformerGraph';

/**
 * Checks that the config is a valid Transformer config whose derived sizes are
 * consistent, and that absolute positions cover seq_len. Throws naming the value and the fix.
 */
function checkConfig(config: ResolvedTransformerConfig, train: TrainConfig): void {
  if (config.architecture !== 'transformer') {
    throw new Error(`architecture = ${String(config.architecture)} is invalid for the Transformer engine: use WebGpuEngine for Mamba models`);
  }
  const resolved = resolveTransformerConfig({ ...config });
  for (const field of ['d_ff', 'head_dim'] as const) {
    if (resolved[field] !== config[field]) {
      throw new Error(`${field} = ${config[field]} does not match the config, which gives ${resolved[field]}: pass the result of resolveTransformerConfig`);
    }
  }
  if (config.positions === 'absolute' && config.max_len < train.seq_len) {
    throw new RangeError(
      `max_len = ${config.max_len} is shorter than seq_len = ${train.seq_len}: absolute positions need max_len ≥ seq_len, ` +
      'so raise max_len or use rotary positions',
    );
  }
}

export class WebGpuTransformerEngine implements Engine {
  readonly kind = 'webgpu' as const;
  readonly description: string;
  readonly layout: ParamLayout;
  private readonly ctx: GpuContext;
  private readonly params: GPUBuffer;
  private readonly batchBuffers: TransformerForwardBuffers;
  private readonly trainBuffers: TransformerTrainBuffers;
  private readonly probeBuffers: TransformerForwardBuffers;
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
    readonly config: ResolvedTransformerConfig,
    readonly train: TrainConfig,
    initialParams: Float32Array,
    private readonly onDeviceError: ((message: string) => void) | undefined,
  ) {
    this.description = `WebGPU (${adapterDescription})`;
    this.layout = buildTransformerLayout(config);
    if (initialParams.length !== this.layout.totalSize) {
      throw new Error(`initial parameters have ${initialParams.length} floats; the layout needs ${this.layout.totalSize}`);
    }
    device.addEventListener('uncapturederror', this.onUncapturedError);
    device.lost.then((info) => {
      if (!this.disposed) this.fail(new Error(`WebGPU device lost (${info.reason}): ${info.message || 'no message'}`));
    });

    this.ctx = new GpuContext(device);
    this.params = this.ctx.upload('engine: params', initialParams);
    this.batchBuffers = allocateTransformerForward(this.ctx, config, train.batch_size, train.seq_len, 'train', 'tiled');
    this.trainBuffers = allocateTransformerTraining(this.ctx, config, this.layout, train.batch_size, train.seq_len);
    // Probes run one sequence through buffers of their own, padded to seq_len. The model is causal,
    // so the padding after the probe's tokens does not change the positions that are read back.
    // They use the naive attention kernels, which store the attention weights for the probe to read.
    // NOTE: those weights take n_layer · n_head · seq_len² floats, which limits seq_len long before the training buffers do.
    this.probeBuffers = allocateTransformerForward(this.ctx, config, 1, train.seq_len, 'probe', 'naive');
  }

  /**
   * Creates the engine and builds every pipeline. Rejects with the kernel name and
   * compiler messages when a shader fails, and with the field and the fix when the
   * config is invalid. Takes ownership of the device, which dispose() destroys, as
   * does a failed creation. Device loss and uncaptured errors go to onDeviceError
   * and make every later call throw.
   */
  static async create(
    device: GPUDevice, adapterDescription: string, config: ResolvedTransformerConfig, train: TrainConfig,
    initialParams: Float32Array, onDeviceError?: (message: string) => void,
  ): Promise<WebGpuTransformerEngine> {
    try {
      checkConfig(config, train);
    } catch (err) {
      device.destroy();
      throw err;
    }
    // Allocation failures land in this scope, so they can be reported with the sizes that caused them.
    device.pushErrorScope('out-of-memory');
    let engine: WebGpuTransformerEngine | null = null;
    let failure: unknown = null;
    try {
      engine = new WebGpuTransformerEngine(device, adapterDescription, config, train, initialParams, onDeviceError);
      await engine.build();
    } catch (err) {
      failure = err;
    }
    const outOfMemory = await device.popErrorScope();
    if (outOfMemory) {
      failure = new Error(
        `the GPU ran out of memory allocating the buffers for batch_size = ${train.batch_size}, seq_len = ${train.seq_len}, ` +
          `d_model = ${config.d_model}, n_layer = ${config.n_layer}, n_head = ${config.n_head}, d_ff = ${config.d_ff}: ` +
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
      ...(await transformerForwardCommands(ctx, config, layout, params, this.batchBuffers, 'train')),
      ...(await transformerTrainCommands(ctx, config, layout, params, this.batchBuffers, this.trainBuffers, {
        weightDecay: this.train.weight_decay, gradClip: this.train.grad_clip,
      })),
    ];
    this.probeCommands = await transformerForwardCommands(ctx, config, layout, params, this.probeBuffers, 'probe');
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
    const L = this.train.seq_len;
    const { n_head: nh, vocab_size: vocab } = this.config;
    if (l < 1 || l > L) throw new RangeError(`probe length ${l} is invalid: use 1 to seq_len = ${L} tokens`);
    checkIds('probe tokens', tokens, vocab);

    const padded = new Int32Array(L);
    padded.set(tokens);
    this.device.queue.writeBuffer(this.probeBuffers.ids, 0, padded);
    this.submit(this.probeCommands, 'probe forward');

    // Each layer's weights are (n_head, seq_len, seq_len); rows and columns from l on belong to the padding.
    const ranges = [
      ...this.probeBuffers.blocks.map((block, i) => {
        if (!block.probs) throw new Error(`probe buffers of layers.${i} have no attention weights: allocate them for naive attention`);
        return { buffer: block.probs, size: nh * L * L * 4 };
      }),
      { buffer: this.probeBuffers.logits, size: l * vocab * 4 },
    ];
    const data = await readBuffers(this.device, ranges, 'engine: probe');
    const attention = this.probeBuffers.blocks.map((_, i) => {
      const full = new Float32Array(data[i]);
      const weights = new Float32Array(nh * l * l);
      for (let h = 0; h < nh; h++) {
        for (let t = 0; t < l; t++) weights.set(full.subarray((h * L + t) * L, (h * L + t) * L + l), (h * l + t) * l);
      }
      return weights;
    });
    const logits = new Float32Array(data[data.length - 1]);

    const predictions = argmaxRows(logits, l, vocab);
    return { delta: [], states: [], attention, predictions };
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
