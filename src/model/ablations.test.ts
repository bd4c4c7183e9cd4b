/**
 * Layout, initialisation and recurrent inference of every ablation of
 * MambaConfig. Gradients are checked in gradcheck.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { assertClose } from '../testing/compare';
import { resolveConfig, type MambaConfig } from './config';
import { MambaModel } from './mamba';
import { softplus } from './ops';
import { buildLayout, initParams, view } from './params';
import { Rng } from './random';
import { MambaDecoder } from './recurrent';

const BASE: MambaConfig = { vocab_size: 5, d_model: 6, n_layer: 2, d_state: 3, expand: 2, d_conv: 3, dt_rank: 2 };
const D_INNER = 12;

/** Names and shapes of layer 0's mixer tensors, without the 'layers.0.mixer.' prefix. */
function mixerShapes(config: MambaConfig): Record<string, number[]> {
  const layout = buildLayout(resolveConfig(config));
  const prefix = 'layers.0.mixer.';
  const out: Record<string, number[]> = {};
  for (const e of layout.entries) if (e.name.startsWith(prefix)) out[e.name.slice(prefix.length)] = e.shape;
  return out;
}

describe('ablation layout', () => {
  it('default layout keeps the reference tensors', () => {
    const layout = buildLayout(resolveConfig(BASE));
    expect(layout.entries.map((e) => e.name)).toEqual([
      'embedding.weight',
      ...[0, 1].flatMap((i) => [
        `layers.${i}.norm.weight`, `layers.${i}.mixer.in_proj.weight`, `layers.${i}.mixer.conv1d.weight`,
        `layers.${i}.mixer.conv1d.bias`, `layers.${i}.mixer.x_proj.weight`, `layers.${i}.mixer.dt_proj.weight`,
        `layers.${i}.mixer.dt_proj.bias`, `layers.${i}.mixer.A_log`, `layers.${i}.mixer.D`, `layers.${i}.mixer.out_proj.weight`,
      ]),
      'norm_f.weight',
    ]);
    expect(mixerShapes(BASE)).toEqual({
      'in_proj.weight': [2 * D_INNER, 6], 'conv1d.weight': [D_INNER, 1, 3], 'conv1d.bias': [D_INNER],
      'x_proj.weight': [2 + 2 * 3, D_INNER], 'dt_proj.weight': [D_INNER, 2], 'dt_proj.bias': [D_INNER],
      A_log: [D_INNER, 3], D: [D_INNER], 'out_proj.weight': [6, D_INNER],
    });
  });

  const CASES: [string, Partial<MambaConfig>, Record<string, number[] | undefined>][] = [
    ['fixed Δ', { selective_delta: false }, { 'x_proj.weight': [6, D_INNER], 'dt_proj.weight': undefined }],
    ['fixed B', { selective_B: false }, { 'x_proj.weight': [5, D_INNER], B: [D_INNER, 3], C: undefined }],
    ['fixed C', { selective_C: false }, { 'x_proj.weight': [5, D_INNER], B: undefined, C: [D_INNER, 3] }],
    ['LTI S4D layer', { selective_delta: false, selective_B: false, selective_C: false },
      { 'x_proj.weight': undefined, 'dt_proj.weight': undefined, 'dt_proj.bias': [D_INNER], B: [D_INNER, 3], C: [D_INNER, 3] }],
    ['no gate', { block: 'no-gate' }, { 'in_proj.weight': [D_INNER, 6] }],
    ['H3', { block: 'h3' }, { 'in_proj.weight': [3 * D_INNER, 6], 'conv1d.weight': [D_INNER, 1, 3] }],
    ['no conv', { use_conv: false }, { 'conv1d.weight': undefined, 'conv1d.bias': undefined, 'in_proj.weight': [2 * D_INNER, 6] }],
  ];
  for (const [name, ablation, want] of CASES) {
    it(`layout with ${name}`, () => {
      const got = mixerShapes({ ...BASE, ...ablation });
      for (const [tensor, shape] of Object.entries(want)) expect(got[tensor], tensor).toEqual(shape);
    });
  }

  it('fixed B and C are not decayed', () => {
    const layout = buildLayout(resolveConfig({ ...BASE, selective_B: false, selective_C: false }));
    expect(layout.byName.get('layers.1.mixer.B')?.decay).toBe(false);
    expect(layout.byName.get('layers.1.mixer.C')?.decay).toBe(false);
  });
});

describe('ablation initialisation', () => {
  /** −exp(A_log) of layer 0 under an a_init. */
  function initialA(a_init: MambaConfig['a_init'], seed = 3): Float32Array {
    const cfg = resolveConfig({ ...BASE, a_init });
    const layout = buildLayout(cfg);
    return view(layout, initParams(cfg, layout, seed), 'layers.0.mixer.A_log').map((v) => -Math.exp(v));
  }

  it('s4d-real A is −(n + 1)', () => {
    assertClose('A', initialA('s4d-real'), Array.from({ length: D_INNER * 3 }, (_, i) => -((i % 3) + 1)));
  });

  it('constant A is −½', () => {
    assertClose('A', initialA('constant'), new Float32Array(D_INNER * 3).fill(-0.5));
  });

  it('random A is seeded and varied', () => {
    const a = initialA('random');
    expect(Array.from(a)).toEqual(Array.from(initialA('random')));
    expect(Array.from(a)).not.toEqual(Array.from(initialA('random', 4)));
    expect(a.every((v) => v < 0)).toBe(true);
    // −exp(N(0, 1)) spreads over orders of magnitude; 36 draws land on both sides of −1.
    expect(a.some((v) => v > -1)).toBe(true);
    expect(a.some((v) => v < -1)).toBe(true);
  });

  it('fixed B is ones and C is random', () => {
    const cfg = resolveConfig({ ...BASE, selective_B: false, selective_C: false });
    const layout = buildLayout(cfg);
    const params = initParams(cfg, layout, 5);
    expect(Array.from(view(layout, params, 'layers.0.mixer.B'))).toEqual(new Array(D_INNER * 3).fill(1));
    const C = view(layout, params, 'layers.0.mixer.C');
    const mean = C.reduce((s, v) => s + v, 0) / C.length;
    expect(Math.abs(mean)).toBeLessThan(0.6);
    expect(new Set(C).size).toBe(C.length);
  });

  for (const selective_delta of [true, false]) {
    it(`Δ without softplus starts in range${selective_delta ? '' : ' when fixed'}`, () => {
      const cfg = resolveConfig({ ...BASE, delta_softplus: false, selective_delta });
      const layout = buildLayout(cfg);
      const params = initParams(cfg, layout, 9);
      const rng = new Rng(1);
      const ids = Int32Array.from({ length: 16 }, () => rng.int(cfg.vocab_size));
      const fwd = new MambaModel(cfg, layout).forward(params, ids, 2, 8);
      for (const layer of fwd.layers) {
        for (const dt of layer.delta) {
          expect(dt).toBeGreaterThanOrEqual(0.001 * (1 - 1e-6));
          expect(dt).toBeLessThanOrEqual(0.1 * (1 + 1e-6));
        }
      }
    });
  }

  it('fixed Δ is one value per channel', () => {
    const cfg = resolveConfig({ ...BASE, selective_delta: false });
    const layout = buildLayout(cfg);
    const params = initParams(cfg, layout, 2);
    const l = 6;
    const fwd = new MambaModel(cfg, layout).forward(params, Int32Array.from({ length: l }, (_, t) => t % 5), 1, l);
    const bias = view(layout, params, 'layers.1.mixer.dt_proj.bias');
    const want = new Float32Array(l * D_INNER);
    for (let t = 0; t < l; t++) for (let c = 0; c < D_INNER; c++) want[t * D_INNER + c] = softplus(bias[c]);
    assertClose('layer 1 delta', fwd.layers[1].delta, want);
  });
});

/** Every ablation, and combinations whose recurrent step takes a different path. */
const RECURRENT_CASES: [string, Partial<MambaConfig>][] = [
  ['default', {}],
  ['LTI S4D layer', { selective_delta: false, selective_B: false, selective_C: false }],
  ['fixed B', { selective_B: false }],
  ['fixed C', { selective_C: false }],
  ['no gate', { block: 'no-gate' }],
  ['no conv', { use_conv: false }],
  ['no softplus', { delta_softplus: false }],
  ['random A', { a_init: 'random' }],
  ['H3 block', { block: 'h3' }],
  ['LTI H3 block without conv', { block: 'h3', use_conv: false, selective_delta: false, selective_B: false, selective_C: false }],
];

describe('ablation recurrent inference', () => {
  for (const [name, ablation] of RECURRENT_CASES) {
    it(`step equals forward with ${name}`, () => {
      const cfg = resolveConfig({ ...BASE, ...ablation });
      const layout = buildLayout(cfg);
      const params = Float64Array.from(initParams(cfg, layout, 11));
      // Spread the weights, so that every part of the mixer moves the logits.
      const rng = new Rng(12);
      for (let i = 0; i < params.length; i++) params[i] += 0.2 * rng.normal();
      const b = 2;
      const l = 7;
      const ids = Int32Array.from({ length: b * l }, () => rng.int(cfg.vocab_size));
      const model = new MambaModel(cfg, layout, 'float64');
      const want = model.forward(params, ids, b, l).logits;

      const decoder = new MambaDecoder(model, params, b);
      const stateSize = decoder.stateSize;
      expect(stateSize).toBe(cfg.n_layer * b * cfg.d_inner * ((cfg.use_conv ? cfg.d_conv : 0) + cfg.d_state));
      const got = new Float64Array(b * l * cfg.vocab_size);
      for (let t = 0; t < l; t++) {
        const logits = decoder.step(Int32Array.from({ length: b }, (_, r) => ids[r * l + t]));
        for (let r = 0; r < b; r++) got.set(logits.subarray(r * cfg.vocab_size, (r + 1) * cfg.vocab_size), (r * l + t) * cfg.vocab_size);
      }
      assertClose('step logits', got, want, { atolFactor: 1e-10, rtol: 1e-10 });
    });
  }
});
