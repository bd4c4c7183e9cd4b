/**
 * Scoring of trained weights on the CPU reference: answer accuracy on fresh
 * sequences at the training length, and induction-heads accuracy at other test
 * lengths (length extrapolation). Mamba is run recurrently there, one token at a
 * time with a constant-size state (src/model/recurrent.ts), so its memory does not
 * grow with the length. Attention runs its parallel forward, one sequence at a
 * time, where the length fits its positions and the memory and compute limits.
 */
import type { ResolvedModelConfig } from '../model/config';
import { maskedLoss } from '../model/loss';
import { MambaModel } from '../model/mamba';
import { buildModelLayout } from '../model/models';
import type { Vec } from '../model/ops';
import { Rng } from '../model/random';
import { MambaDecoder } from '../model/recurrent';
import { TransformerModel, type ResolvedTransformerConfig } from '../model/transformer';
import { generateBatch, type InductionHeadsTask, type TaskConfig } from '../tasks';
import { fillInductionHeads } from '../tasks/inductionHeads';
import type { ExtrapolationSpec } from './paperPresets';

/** Reason a test length was not evaluated, or 'ok' when it was. */
export type ExtrapolationStatus = 'ok' | 'positions beyond max_len' | 'exceeds memory' | 'exceeds compute budget';

export interface ExtrapolationPoint {
  length: number;
  /** Fraction of test sequences whose last-position answer is right; null when not evaluated. */
  accuracy: number | null;
  status: ExtrapolationStatus;
  /** 'recurrent' for Mamba, 'parallel' for attention; null when not evaluated. */
  method: 'recurrent' | 'parallel' | null;
  samples: number;
  /** Wall time of the evaluation at this length, in seconds. */
  seconds: number;
}

function createModel(config: ResolvedModelConfig): MambaModel | TransformerModel {
  const layout = buildModelLayout(config);
  return config.architecture === 'transformer' ? new TransformerModel(config, layout) : new MambaModel(config, layout);
}

/**
 * Returns the answer accuracy of the weights on `sequences` fresh sequences of the
 * task at seqLen, drawn from Rng(seed), run through the parallel forward in batches.
 */
export function evaluateAccuracy(
  config: ResolvedModelConfig,
  params: Vec,
  task: TaskConfig,
  seqLen: number,
  sequences: number,
  seed: number,
  batchSize = 16,
): number {
  const model = createModel(config);
  const rng = new Rng(seed);
  let hits = 0;
  let answers = 0;
  for (let done = 0; done < sequences; done += batchSize) {
    const b = Math.min(batchSize, sequences - done);
    const batch = generateBatch(task, b, seqLen, rng);
    const { logits } = model.forward(params, batch.inputs, b, seqLen);
    const result = maskedLoss(logits, batch.targets, batch.mask, b * seqLen, config.vocab_size);
    hits += result.accuracy * result.answerCount;
    answers += result.answerCount;
  }
  return answers > 0 ? hits / answers : Number.NaN;
}

/**
 * Estimates the memory of the CPU reference's parallel Transformer forward on one
 * sequence of `length` tokens, in bytes. It counts the float32 arrays allocated per
 * layer (ten of width d_model, three of width d_ff, the norms and log-sum-exps), and
 * the embedding, final norm and logits. The attention keeps no length × length matrix.
 */
export function attentionForwardBytes(config: ResolvedTransformerConfig, length: number): number {
  const { d_model: d, d_ff: f, n_head: heads, n_layer: layers, vocab_size: vocab } = config;
  const perToken = layers * (10 * d + 3 * f + 2 + heads) + 2 * d + 1 + vocab;
  return 4 * length * perToken;
}

/** Estimates the multiply-adds of the parallel Transformer forward on one sequence: projections, MLP, causal attention and head. */
export function attentionForwardMultiplyAdds(config: ResolvedTransformerConfig, length: number): number {
  const { d_model: d, d_ff: f, n_layer: layers, vocab_size: vocab } = config;
  const projections = length * (4 * d * d + 3 * d * f);
  // Query t scores and mixes t + 1 keys: l(l + 1)/2 pairs, each a dot product and an update of width d_model.
  const attention = length * (length + 1) * d;
  return layers * (projections + attention) + length * d * vocab;
}

/** Returns why attention cannot be evaluated at this length, or 'ok'. */
export function planAttention(config: ResolvedTransformerConfig, length: number, spec: ExtrapolationSpec): ExtrapolationStatus {
  if (config.positions === 'absolute' && length > config.max_len) return 'positions beyond max_len';
  if (attentionForwardBytes(config, length) > spec.attentionMemoryLimit) return 'exceeds memory';
  if (spec.samples * attentionForwardMultiplyAdds(config, length) > spec.attentionComputeLimit) return 'exceeds compute budget';
  return 'ok';
}

/**
 * Draws the induction-heads test sequences of one length, (samples, length)
 * row-major, and the answer of each. Every model sees the same sequences at a
 * length, and each length has its own.
 */
export function drawTestSequences(task: InductionHeadsTask, length: number, samples: number, seed: number) {
  const rng = new Rng((seed * 1_000_003 + length) % 2 ** 31);
  const tokens = new Int32Array(samples * length);
  const answers = new Int32Array(samples);
  const targets = new Int32Array(length);
  const mask = new Float32Array(length);
  for (let s = 0; s < samples; s++) {
    mask.fill(0);
    fillInductionHeads(task, length, rng, { tokens: tokens.subarray(s * length, (s + 1) * length), targets, mask });
    answers[s] = targets[length - 1];
  }
  return { tokens, answers };
}

function argmax(values: ArrayLike<number>, offset: number, count: number): number {
  let best = 0;
  for (let v = 1; v < count; v++) if (values[offset + v] > values[offset + best]) best = v;
  return best;
}

/**
 * Returns the model's prediction at the last position of each of `samples`
 * sequences of `length` tokens, (samples, length) row-major. Mamba streams all
 * sequences through its recurrent decoder together. Attention runs its parallel
 * forward on one sequence at a time.
 */
export function predictLastTokens(config: ResolvedModelConfig, params: Vec, tokens: Int32Array, samples: number, length: number): Int32Array {
  const model = createModel(config);
  const vocab = config.vocab_size;
  const predictions = new Int32Array(samples);
  if (model instanceof TransformerModel) {
    for (let s = 0; s < samples; s++) {
      const { logits } = model.forward(params, tokens.subarray(s * length, (s + 1) * length), 1, length);
      predictions[s] = argmax(logits, (length - 1) * vocab, vocab);
    }
    return predictions;
  }

  const decoder = new MambaDecoder(model, params, samples);
  const column = new Int32Array(samples);
  let logits: Float64Array = new Float64Array(0);
  for (let t = 0; t < length; t++) {
    for (let s = 0; s < samples; s++) column[s] = tokens[s * length + t];
    logits = decoder.step(column);
  }
  for (let s = 0; s < samples; s++) predictions[s] = argmax(logits, s * vocab, vocab);
  return predictions;
}

function accuracyOf(predictions: Int32Array, answers: Int32Array): number {
  let hits = 0;
  for (let s = 0; s < answers.length; s++) if (predictions[s] === answers[s]) hits++;
  return hits / answers.length;
}

/**
 * Scores induction heads at each test length of the spec, calling onPoint as each
 * length finishes. Lengths that attention cannot run get a status and no accuracy.
 */
export function evaluateExtrapolation(
  config: ResolvedModelConfig,
  params: Vec,
  task: InductionHeadsTask,
  spec: ExtrapolationSpec,
  seed: number,
  onPoint?: (point: ExtrapolationPoint) => void,
): ExtrapolationPoint[] {
  const points: ExtrapolationPoint[] = [];
  for (const length of spec.lengths) {
    const started = performance.now();
    let point: ExtrapolationPoint;
    const status = config.architecture === 'transformer' ? planAttention(config, length, spec) : 'ok';
    if (status === 'ok') {
      const { tokens, answers } = drawTestSequences(task, length, spec.samples, seed);
      const accuracy = accuracyOf(predictLastTokens(config, params, tokens, spec.samples, length), answers);
      const method = config.architecture === 'transformer' ? 'parallel' : 'recurrent';
      point = { length, accuracy, status, method, samples: spec.samples, seconds: 0 };
    } else {
      point = { length, accuracy: null, status, method: null, samples: 0, seconds: 0 };
    }
    point.seconds = Math.round(performance.now() - started) / 1000;
    points.push(point);
    onPoint?.(point);
  }
  return points;
}
