/**
 * Types shared by the length-extrapolation evaluator (workers/evaluator.ts), the
 * worker that exposes it, and the store that calls it.
 */
import type { RunConfig } from '../protocol';
import type { ExtrapolationPoint } from './evaluate';
import type { ExtrapolationSpec } from './paperPresets';

/**
 * Offset of the test sequences' seed from the run's seed. The command line's grid
 * runner uses the same offset (EVAL_SEED_OFFSET in src/cli/grid.ts), so the app and
 * the command line score a run on the same sequences.
 */
export const EXTRAPOLATION_SEED_OFFSET = 2000;

/** Returns the seed of a run's test sequences. */
export function extrapolationSeed(config: RunConfig): number {
  return config.train.seed + EXTRAPOLATION_SEED_OFFSET;
}

/** One evaluation: a trained run's config and final weights, and the lengths to test. */
export interface ExtrapolationRequest {
  /** The run's whole config; its task must be induction heads. */
  config: RunConfig;
  /** Final weights in the flat layout of buildModelLayout, as the studio stores them. */
  params: Float32Array;
  spec: ExtrapolationSpec;
  /** Seed of the test sequences; extrapolationSeed(config) in the app. */
  seed: number;
}

/** The evaluator's API, called directly under Node and through comlink in the browser. */
export interface ExtrapolationApi {
  /**
   * Scores the weights at every length of the spec, in order, on the CPU reference,
   * and sends each length's point to onPoint as it finishes. Rejects with a message
   * naming the value and the fix when the request is invalid.
   */
  evaluate(request: ExtrapolationRequest, onPoint?: (point: ExtrapolationPoint) => void): Promise<ExtrapolationPoint[]>;
}
