import type { ResolvedModelConfig, TrainConfig } from '../model/config';

/** Throws RangeError unless params, m and v each hold `size` floats. */
export function checkTrainingState(state: TrainingState, size: number): void {
  for (const key of ['params', 'm', 'v'] as const) {
    const array = state[key];
    if (!(array instanceof Float32Array) || array.length !== size) {
      const found = array instanceof Float32Array ? `${array.length} floats` : 'no Float32Array';
      throw new RangeError(`the training state's ${key} has ${found}; this model needs ${size}: it was saved for another model`);
    }
  }
}

/** One training batch, token-major (batch_size, seq_len). */
export interface Batch {
  inputs: Int32Array;
  targets: Int32Array;
  /** 1 at answer positions, 0 elsewhere; loss and accuracy count only answer positions. */
  mask: Float32Array;
}

/** Loss and accuracy averaged over the steps since the previous read. */
export interface StepMetrics {
  /** Mean cross-entropy over answer positions, in nats. */
  loss: number;
  /** Fraction of answer positions whose argmax equals the target. */
  accuracy: number;
  /** Training steps that these figures average over. */
  steps: number;
}

/** Per-layer tensors of one forward pass on a single probe sequence of length l. */
export interface ProbeResult {
  /** delta[layer] is (l, d_inner): Δ after bias and softplus. Empty for a Transformer. */
  delta: Float32Array[];
  /** states[layer] is (l, d_inner, d_state): h_t for every channel. Empty for a Transformer. */
  states: Float32Array[];
  /** attention[layer] is (n_head, l, l): softmax weight of query row t on key column s ≤ t. Empty for Mamba. */
  attention: Float32Array[];
  /** Argmax prediction at each position (l). */
  predictions: Int32Array;
}

/**
 * Everything an engine learns: the parameters and AdamW's first and second moments,
 * each in the flat layout of buildModelLayout. With the step count and the data
 * stream's position, it lets training go on later exactly where it stopped.
 */
export interface TrainingState {
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

export type EngineKind = 'webgpu' | 'cpu';

/**
 * A model plus its optimizer state on one backend. Both engines give the same
 * numbers within float32 tolerance.
 */
export interface Engine {
  readonly kind: EngineKind;
  /** "WebGPU" with the adapter's description, or "CPU" with the reason WebGPU was not used. */
  readonly description: string;
  readonly config: ResolvedModelConfig;
  readonly train: TrainConfig;
  /** Enqueues one optimizer step on the batch; step counts from 1. */
  step(batch: Batch, step: number, learningRate: number): void;
  /** Resolves when every enqueued step has finished on the device; absent when steps run synchronously. */
  flush?(): Promise<void>;
  /** Reads the metrics accumulated since the last call and resets them. */
  readMetrics(): Promise<StepMetrics>;
  /** Runs the model forward on one sequence (length ≤ train.seq_len) and returns Δ and the states. */
  probe(tokens: Int32Array): Promise<ProbeResult>;
  /** Copies the parameters out in the flat layout of buildLayout. */
  readParams(): Promise<Float32Array>;
  /** Copies the parameters and the optimizer's moments out. */
  readTrainingState(): Promise<TrainingState>;
  /**
   * Replaces the parameters and the optimizer's moments with a state read from an
   * engine of the same model. Throws RangeError when an array's length does not fit.
   */
  writeTrainingState(state: TrainingState): void;
  /** Frees every buffer and pipeline; the engine is unusable afterwards. */
  dispose(): void;
}
