import type { TrainConfig } from './config';
import { adamwUpdate, sumOfSquares, type AdamWHyper, type Vec } from './ops';
import type { ParamLayout } from './params';

/** AdamW betas and epsilon; β2 = 0.95 as in mamba_ssm's training recipes. Both engines use these. */
export const ADAMW = { beta1: 0.9, beta2: 0.95, eps: 1e-8 } as const;

/** Scale that brings the global gradient norm down to gradClip; 1 when clipping is off or not needed. */
export function clipScale(gradNorm: number, gradClip: number): number {
  if (gradClip <= 0) return 1;
  return Math.min(1, gradClip / (gradNorm + 1e-6));
}

/** AdamW over the flat parameter buffer, with global-norm clipping and per-tensor weight decay. */
export class AdamW {
  readonly m: Float32Array;
  readonly v: Float32Array;

  constructor(readonly layout: ParamLayout, readonly train: TrainConfig) {
    this.m = new Float32Array(layout.totalSize);
    this.v = new Float32Array(layout.totalSize);
  }

  /** Applies one update in place; step counts from 1. Returns the gradient norm before clipping. */
  step(params: Vec, grads: Vec, step: number, learningRate: number): number {
    const norm = Math.sqrt(sumOfSquares(grads));
    const scale = clipScale(norm, this.train.grad_clip);
    const hp: AdamWHyper = { lr: learningRate, ...ADAMW, weightDecay: this.train.weight_decay };
    for (const e of this.layout.entries) {
      adamwUpdate(params, this.m, this.v, grads, e.offset, e.size, hp, e.decay, step, scale);
    }
    return norm;
  }

  reset(): void {
    this.m.fill(0);
    this.v.fill(0);
  }
}
