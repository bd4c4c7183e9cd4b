/**
 * One entry point per operation for either architecture of a run's model: the
 * Mamba LM (src/model/mamba.ts) or the Transformer baseline (src/model/transformer.ts).
 */
import { isTransformerConfig, resolveConfig, type ModelConfig, type ResolvedModelConfig } from './config';
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

/** Trainable parameters of a valid model config, without padding. */
export function countParameters(cfg: ModelConfig): number {
  return buildModelLayout(resolveModelConfig(cfg)).count;
}
