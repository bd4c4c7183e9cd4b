/**
 * Dimension names used across the model, the engines and the kernels.
 *
 *   b        batch size
 *   l        sequence length (tokens per sequence)
 *   vocab    vocabulary size (vocab_size)
 *   d_model  width of the residual stream
 *   d_inner  width inside the mixer, expand * d_model
 *   d_state  state size per channel (N in Gu and Dao, 2023)
 *   d_conv   kernel width of the causal depthwise convolution
 *   dt_rank  rank of the low-rank projection that produces Δ, ceil(d_model / 16)
 *
 * Activations are stored token-major as (b, l, dim) with the last dimension
 * varying fastest. Linear weights follow PyTorch: (out, in), y = x W^T.
 */

import type { ResolvedTransformerConfig, TransformerConfig } from './transformer';

/**
 * The block of each layer. 'mamba' is the Mamba block. 'no-gate' is the same
 * block without the SiLU(z) gate, so in_proj produces only the x branch. 'h3' is
 * the H3 block (Fu et al., 2023): in_proj produces q, k and v, and a shift SSM
 * (the causal conv1d, without activation) runs on k. Then k ⊙ v enters the inner
 * SSM, and its output is multiplied by q. The inner SSM of every block is the
 * selective or LTI scan that the selective_* fields choose. src/model/mamba.ts
 * lists the equations.
 */
export type BlockKind = 'mamba' | 'no-gate' | 'h3';

/**
 * Initialisation of A = −exp(A_log): 's4d-real' sets A[:, n] = −(n + 1),
 * 'constant' sets every entry to −½, 'random' draws −exp(N(0, 1)).
 */
export type AInit = 's4d-real' | 'constant' | 'random';

export const BLOCK_KINDS: readonly BlockKind[] = ['mamba', 'no-gate', 'h3'];
export const A_INITS: readonly AInit[] = ['s4d-real', 'constant', 'random'];

/**
 * Model hyperparameters under the reference implementation's names. The fields
 * after dt_rank are ablations; when absent they take the Mamba defaults
 * (MAMBA_ABLATION_DEFAULTS).
 */
export interface MambaConfig {
  /** Absent or 'mamba'; 'transformer' selects TransformerConfig instead. */
  architecture?: 'mamba';
  vocab_size: number;
  d_model: number;
  n_layer: number;
  d_state: number;
  expand: number;
  d_conv: number;
  /** Rank of Δ's projection; 'auto' means ceil(d_model / 16). */
  dt_rank: number | 'auto';
  block?: BlockKind;
  /**
   * Δ computed from the input (S6) rather than one learned value per channel
   * (S4): softplus(dt_proj.bias), with no dt_proj.weight and no Δ rows in x_proj.
   */
  selective_delta?: boolean;
  /** B computed from the input (x_proj rows) rather than a learned (d_inner, d_state) matrix `B`. */
  selective_B?: boolean;
  /** C computed from the input (x_proj rows) rather than a learned (d_inner, d_state) matrix `C`. */
  selective_C?: boolean;
  /**
   * The causal depthwise convolution before the SSM. Off removes it and its
   * parameters: the x branch goes straight to SiLU and the SSM, and H3's k
   * enters k ⊙ v unshifted.
   */
  use_conv?: boolean;
  a_init?: AInit;
  /**
   * Softplus on Δ; off uses Δ = dt_proj(x) + dt_proj.bias unchanged. Then the
   * bias starts at Δ itself and dt_proj.weight at zero, so Δ is positive at
   * initialisation, but nothing keeps it positive during training.
   */
  delta_softplus?: boolean;
}

export type MambaAblations = Required<Pick<MambaConfig,
  'block' | 'selective_delta' | 'selective_B' | 'selective_C' | 'use_conv' | 'a_init' | 'delta_softplus'>>;

export const MAMBA_ABLATION_DEFAULTS: MambaAblations = {
  block: 'mamba',
  selective_delta: true,
  selective_B: true,
  selective_C: true,
  use_conv: true,
  a_init: 's4d-real',
  delta_softplus: true,
};

/** A Mamba config with every derived size and ablation filled in. */
export interface ResolvedConfig extends Omit<MambaConfig, 'dt_rank' | 'architecture' | keyof MambaAblations>, MambaAblations {
  architecture: 'mamba';
  dt_rank: number;
  d_inner: number;
}

export type Architecture = 'mamba' | 'transformer';
export const ARCHITECTURES: readonly Architecture[] = ['mamba', 'transformer'];

/** The model of a run: a Mamba LM, or the Transformer baseline when architecture is 'transformer'. */
export type ModelConfig = MambaConfig | TransformerConfig;
export type ResolvedModelConfig = ResolvedConfig | ResolvedTransformerConfig;

export function isTransformerConfig(cfg: ModelConfig): cfg is TransformerConfig {
  return cfg.architecture === 'transformer';
}

/** Optimisation and data sizes of one training run. */
export interface TrainConfig {
  learning_rate: number;
  batch_size: number;
  seq_len: number;
  seed: number;
  weight_decay: number;
  /** Global gradient-norm clip; 0 turns clipping off. */
  grad_clip: number;
}

/** One validation rule for a numeric field, shared by the UI, the CLI and the engines. */
export interface FieldRule {
  min: number;
  max: number;
  integer: boolean;
  /** A typical valid value, quoted in error messages. */
  example: number;
  label: string;
}

export const MODEL_RULES: Record<'vocab_size' | 'd_model' | 'n_layer' | 'd_state' | 'expand' | 'd_conv', FieldRule> = {
  vocab_size: { min: 2, max: 4096, integer: true, example: 16, label: 'vocabulary size' },
  d_model: { min: 1, max: 1024, integer: true, example: 64, label: 'model width' },
  n_layer: { min: 1, max: 16, integer: true, example: 2, label: 'number of layers' },
  // The simple WGSL scan keeps the state of one channel in a private array of 64 floats.
  d_state: { min: 1, max: 64, integer: true, example: 16, label: 'state size' },
  expand: { min: 1, max: 4, integer: true, example: 2, label: 'expansion factor' },
  d_conv: { min: 1, max: 8, integer: true, example: 4, label: 'convolution width' },
};

export const DT_RANK_RULE: FieldRule = { min: 1, max: 256, integer: true, example: 4, label: 'Δ rank' };

export const TRAIN_RULES: Record<keyof TrainConfig, FieldRule> = {
  learning_rate: { min: 1e-6, max: 1, integer: false, example: 0.003, label: 'learning rate' },
  batch_size: { min: 1, max: 512, integer: true, example: 16, label: 'batch size' },
  seq_len: { min: 1, max: 8192, integer: true, example: 64, label: 'sequence length' },
  seed: { min: 0, max: 2 ** 31 - 1, integer: true, example: 1, label: 'seed' },
  weight_decay: { min: 0, max: 1, integer: false, example: 0.1, label: 'weight decay' },
  grad_clip: { min: 0, max: 1000, integer: false, example: 1, label: 'gradient clip' },
};

/** A validation failure on one named field. */
export interface FieldError {
  field: string;
  message: string;
}

/** Thrown when a config fails validation; `errors` lists every failing field. */
export class ConfigError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => e.message).join('\n'));
    this.name = 'ConfigError';
  }
}

/** Returns an error message for `value` under `rule`, or null when it is valid. */
export function checkField(field: string, value: unknown, rule: FieldRule): string | null {
  const fix = `use ${rule.integer ? 'an integer' : 'a number'} from ${rule.min} to ${rule.max}, such as ${rule.example}`;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return `${field} = ${String(value)} is invalid: ${fix}`;
  }
  if (rule.integer && !Number.isInteger(value)) {
    return `${field} = ${value} is invalid: it must be an integer; ${fix}`;
  }
  if (value < rule.min || value > rule.max) {
    return `${field} = ${value} is out of range: ${fix}`;
  }
  return null;
}

/** Validates a model config and fills in d_inner and dt_rank; throws ConfigError listing every bad field. */
export function resolveConfig(config: MambaConfig): ResolvedConfig {
  const errors: FieldError[] = [];
  for (const [field, rule] of Object.entries(MODEL_RULES)) {
    const message = checkField(field, config[field as keyof typeof MODEL_RULES], rule);
    if (message) errors.push({ field, message });
  }
  if (config.dt_rank !== 'auto') {
    const message = checkField('dt_rank', config.dt_rank, DT_RANK_RULE);
    if (message) errors.push({ field: 'dt_rank', message: `${message}, or 'auto'` });
  }
  if (config.architecture !== undefined && config.architecture !== 'mamba') {
    errors.push({ field: 'architecture', message: `architecture = ${String(config.architecture)} is invalid: use 'mamba' or 'transformer'` });
  }
  const ablations = { ...MAMBA_ABLATION_DEFAULTS };
  const choose = <K extends keyof MambaAblations>(field: K, allowed: readonly MambaAblations[K][]) => {
    const value = config[field];
    if (value === undefined) return;
    if ((allowed as unknown[]).includes(value)) ablations[field] = value as MambaAblations[K];
    else errors.push({ field, message: `${field} = ${String(value)} is invalid: use ${allowed.map((a) => String(a)).join(' or ')}` });
  };
  choose('block', BLOCK_KINDS);
  choose('a_init', A_INITS);
  for (const flag of ['selective_delta', 'selective_B', 'selective_C', 'use_conv', 'delta_softplus'] as const) choose(flag, [true, false]);
  if (errors.length > 0) throw new ConfigError(errors);

  const dtRank = config.dt_rank === 'auto' ? Math.ceil(config.d_model / 16) : config.dt_rank;
  return {
    vocab_size: config.vocab_size,
    d_model: config.d_model,
    n_layer: config.n_layer,
    d_state: config.d_state,
    expand: config.expand,
    d_conv: config.d_conv,
    ...ablations,
    architecture: 'mamba',
    dt_rank: dtRank,
    d_inner: config.expand * config.d_model,
  };
}

/** Validates training hyperparameters; throws ConfigError listing every bad field. */
export function validateTrainConfig(train: TrainConfig): TrainConfig {
  const errors: FieldError[] = [];
  for (const [field, rule] of Object.entries(TRAIN_RULES)) {
    const message = checkField(field, train[field as keyof TrainConfig], rule);
    if (message) errors.push({ field, message });
  }
  if (errors.length > 0) throw new ConfigError(errors);
  return train;
}
