/**
 * One entry point per operation for either architecture of a run's model: the
 * Mamba LM (src/model/mamba.ts) or the Transformer baseline (src/model/transformer.ts).
 */
import { isTransformerConfig, resolveConfig, type FieldError, type ModelConfig, type ResolvedModelConfig } from './config';
import { buildLayout, initParams, type ParamLayout } from './params';
import { buildTransformerLayout, initTransformerParams, resolveTransformerConfig } from './transformer';

/** Validates a model config of either architecture; throws ConfigError listing every bad field. */
export function resolveModelConfig(cfg: ModelConfig): ResolvedModelConfig {
  return isTransformerConfig(cfg) ? resolveTransformerConfig(cfg) : resolveConfig(cfg);
}

export function buildModelLayout(cfg: ResolvedModelConfig): ParamLayout {
  return cfg.architecture === 'transformer' ? buildTransformerLayout(cfg) : buildLayout(cfg);
}

/** Initial weights from a seed, in the layout of buildModelLayout. */
export function initModelParams(cfg: ResolvedModelConfig, layout: ParamLayout, seed: number): Float32Array {
  return cfg.architecture === 'transformer' ? initTransformerParams(cfg, layout, seed) : initParams(cfg, layout, seed);
}

/**
 * Checks a valid model config against the training sequence length: absolute
 * positions need a table that covers every position. Returns one error per bad field.
 */
export function checkModelForLength(cfg: ResolvedModelConfig, seqLen: number): FieldError[] {
  if (cfg.architecture === 'transformer' && cfg.positions === 'absolute' && cfg.max_len < seqLen) {
    return [{
      field: 'max_len',
      message: `max_len = ${cfg.max_len} is shorter than seq_len = ${seqLen}: absolute positions need max_len ≥ seq_len, so raise max_len or use rotary positions`,
    }];
  }
  return [];
}

/** Trainable parameters of a valid model config, without padding. */
export function countParameters(cfg: ModelConfig): number {
  return buildModelLayout(resolveModelConfig(cfg)).count;
}
