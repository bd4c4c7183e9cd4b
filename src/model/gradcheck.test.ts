/**
 * Finite-difference check of the whole model's backward pass in float64: for a
 * few coordinates of every parameter tensor, the analytic gradient must match
 * the central difference (L(θ+ε) − L(θ−ε)) / 2ε. Each ablation of MambaConfig
 * gets its own check, because each one changes the backward pass.
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig, type MambaConfig } from './config';
import { MambaModel } from './mamba';
import { buildLayout, initParams } from './params';
import { Rng } from './random';

const BASE: MambaConfig = { vocab_size: 5, d_model: 6, n_layer: 2, d_state: 3, expand: 2, d_conv: 3, dt_rank: 2 };

/** Checks three coordinates of every tensor; returns how many were checked. */
function checkGradients(config: MambaConfig): number {
  const cfg = resolveConfig(config);
  const layout = buildLayout(cfg);
  const rng = new Rng(7);

  // Start from the real initialisation, then spread the weights so no gradient is tiny by symmetry.
  const params = Float64Array.from(initParams(cfg, layout, 3));
  for (const e of layout.entries) {
    for (let i = e.offset; i < e.offset + e.size; i++) params[i] += 0.3 * rng.normal();
  }
  const b = 2;
  const l = 5;
  const ids = Int32Array.from({ length: b * l }, () => rng.int(cfg.vocab_size));
  const targets = Int32Array.from({ length: b * l }, () => rng.int(cfg.vocab_size));
  const mask = Float32Array.from({ length: b * l }, (_, i) => (i % 3 === 0 ? 0 : 1));

  const model = new MambaModel(cfg, layout, 'float64');
  const { grads } = model.lossAndGrad(params, ids, targets, mask, b, l);
  const lossAt = (p: Float64Array) => model.lossAndGrad(p, ids, targets, mask, b, l).loss;

  const eps = 1e-6;
  let checked = 0;
  for (const e of layout.entries) {
    for (const k of [0, Math.floor(e.size / 2), e.size - 1]) {
      const i = e.offset + k;
      const saved = params[i];
      params[i] = saved + eps;
      const up = lossAt(params);
      params[i] = saved - eps;
      const down = lossAt(params);
      params[i] = saved;
      const numeric = (up - down) / (2 * eps);
      const analytic = grads[i];
      const err = Math.abs(numeric - analytic) / Math.max(1e-4, Math.abs(numeric) + Math.abs(analytic));
      expect(err, `${e.name}[${k}]: analytic ${analytic}, numeric ${numeric}`).toBeLessThan(1e-5);
      checked++;
    }
  }
  expect(checked).toBe(layout.entries.length * 3);
  return checked;
}

/** One case per ablation, and the combinations that take a different code path. */
const ABLATIONS: [string, Partial<MambaConfig>][] = [
  ['fixed Δ', { selective_delta: false }],
  ['fixed B', { selective_B: false }],
  ['fixed C', { selective_C: false }],
  ['only Δ selective', { selective_B: false, selective_C: false }],
  ['LTI S4D layer', { selective_delta: false, selective_B: false, selective_C: false }],
  ['no gate', { block: 'no-gate' }],
  ['no conv', { use_conv: false }],
  ['no softplus', { delta_softplus: false }],
  ['constant A', { a_init: 'constant' }],
  ['random A', { a_init: 'random' }],
  ['H3 block', { block: 'h3' }],
  ['H3 block without conv', { block: 'h3', use_conv: false }],
  ['LTI H3 block', { block: 'h3', selective_delta: false, selective_B: false, selective_C: false }],
  ['no gate, conv or softplus', { block: 'no-gate', use_conv: false, delta_softplus: false, selective_C: false }],
];

describe('model gradient', () => {
  it('matches central differences in float64', () => {
    checkGradients(BASE);
  });

  for (const [name, ablation] of ABLATIONS) {
    it(`gradient with ${name}`, () => {
      checkGradients({ ...BASE, ...ablation });
    });
  }
});
