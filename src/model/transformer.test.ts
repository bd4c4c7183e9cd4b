import { describe, expect, it } from 'vitest';
import { assertClose } from '../testing/compare';
import { attentionForward, ropeForward } from './attentionOps';
import { ConfigError } from './config';
import { TransformerDecoder } from './kvcache';
import { Rng } from './random';
import {
  buildTransformerLayout, initTransformerParams, resolveTransformerConfig, TransformerModel, type PositionEncoding,
} from './transformer';

function randomVec(n: number, rng: Rng): Float64Array {
  return Float64Array.from({ length: n }, () => rng.normal());
}

describe('attention reference', () => {
  it('first position attends only to itself', () => {
    const rng = new Rng(1);
    const [b, l, nh, hd] = [1, 4, 2, 3];
    const q = randomVec(b * l * nh * hd, rng);
    const k = randomVec(q.length, rng);
    const v = randomVec(q.length, rng);
    const out = new Float64Array(q.length);
    attentionForward(out, new Float64Array(b * nh * l), q, k, v, b, l, nh, hd);
    assertClose('out at t=0', out.subarray(0, nh * hd), v.subarray(0, nh * hd));
  });

  it('future tokens leave past outputs unchanged', () => {
    const rng = new Rng(2);
    const [b, l, nh, hd] = [2, 6, 2, 4];
    const q = randomVec(b * l * nh * hd, rng);
    const k = randomVec(q.length, rng);
    const v = randomVec(q.length, rng);
    const before = new Float64Array(q.length);
    attentionForward(before, new Float64Array(b * nh * l), q, k, v, b, l, nh, hd);
    // Change everything at the last position of batch 0.
    const row = nh * hd;
    for (let e = 0; e < row; e++) {
      k[(l - 1) * row + e] += 5;
      v[(l - 1) * row + e] -= 3;
    }
    const after = new Float64Array(q.length);
    attentionForward(after, new Float64Array(b * nh * l), q, k, v, b, l, nh, hd);
    assertClose('outputs before the change', after.subarray(0, (l - 1) * row), before.subarray(0, (l - 1) * row));
    expect(Math.abs(after[(l - 1) * row] - before[(l - 1) * row])).toBeGreaterThan(1e-6);
  });

  it('rope scores depend only on the offset', () => {
    const rng = new Rng(3);
    const [l, hd] = [8, 6];
    const qOne = randomVec(hd, rng);
    const kOne = randomVec(hd, rng);
    // The same q and k at every position.
    const q = new Float64Array(l * hd);
    const k = new Float64Array(l * hd);
    for (let t = 0; t < l; t++) {
      q.set(qOne, t * hd);
      k.set(kOne, t * hd);
    }
    ropeForward(q, q, 1, l, 1, hd);
    ropeForward(k, k, 1, l, 1, hd);
    const dot = (t: number, s: number) => {
      let acc = 0;
      for (let e = 0; e < hd; e++) acc += q[t * hd + e] * k[s * hd + e];
      return acc;
    };
    expect(dot(5, 3)).toBeCloseTo(dot(2, 0), 10);
    expect(dot(7, 7)).toBeCloseTo(dot(0, 0), 10);
    expect(Math.abs(dot(4, 0) - dot(1, 0))).toBeGreaterThan(1e-6);
  });
});

describe('transformer config', () => {
  it('rejects heads that do not divide d_model', () => {
    const error = (() => {
      try {
        resolveTransformerConfig({ architecture: 'transformer', vocab_size: 8, d_model: 10, n_layer: 1, n_head: 4, d_ff: 'auto', positions: 'rope', max_len: 16 });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('n_head = 4 does not divide d_model = 10');
  });

  it('auto d_ff rounds 8/3 d_model up to 8', () => {
    const cfg = resolveTransformerConfig({ architecture: 'transformer', vocab_size: 8, d_model: 64, n_layer: 1, n_head: 4, d_ff: 'auto', positions: 'rope', max_len: 16 });
    expect(cfg.d_ff).toBe(176);
    expect(cfg.head_dim).toBe(16);
  });
});

describe('transformer gradient', () => {
  for (const positions of ['rope', 'absolute'] as PositionEncoding[]) {
    it(`matches central differences with ${positions} positions`, () => {
      const cfg = resolveTransformerConfig({ architecture: 'transformer', vocab_size: 5, d_model: 8, n_layer: 2, n_head: 2, d_ff: 12, positions, max_len: 6 });
      const layout = buildTransformerLayout(cfg);
      const rng = new Rng(11);
      const params = Float64Array.from(initTransformerParams(cfg, layout, 4));
      for (let i = 0; i < params.length; i++) params[i] += 0.3 * rng.normal();
      const [b, l] = [2, 5];
      const ids = Int32Array.from({ length: b * l }, () => rng.int(cfg.vocab_size));
      const targets = Int32Array.from({ length: b * l }, () => rng.int(cfg.vocab_size));
      const mask = Float32Array.from({ length: b * l }, (_, i) => (i % 4 === 1 ? 0 : 1));
      const model = new TransformerModel(cfg, layout, 'float64');
      const { grads } = model.lossAndGrad(params, ids, targets, mask, b, l);

      const eps = 1e-6;
      let checked = 0;
      for (const e of layout.entries) {
        for (const k of [0, Math.floor(e.size / 3), e.size - 1]) {
          const i = e.offset + k;
          const saved = params[i];
          params[i] = saved + eps;
          const up = model.lossAndGrad(params, ids, targets, mask, b, l).loss;
          params[i] = saved - eps;
          const down = model.lossAndGrad(params, ids, targets, mask, b, l).loss;
          params[i] = saved;
          const numeric = (up - down) / (2 * eps);
          const err = Math.abs(numeric - grads[i]) / Math.max(1e-4, Math.abs(numeric) + Math.abs(grads[i]));
          expect(err, `${e.name}[${k}]: analytic ${grads[i]}, numeric ${numeric}`).toBeLessThan(1e-5);
          checked++;
        }
      }
      expect(checked).toBe(layout.entries.length * 3);
    });
  }
});

describe('KV-cache decoding', () => {
  for (const positions of ['rope', 'absolute'] as PositionEncoding[]) {
    it(`step by step equals forward with ${positions}`, () => {
      const cfg = resolveTransformerConfig({ architecture: 'transformer', vocab_size: 7, d_model: 8, n_layer: 2, n_head: 2, d_ff: 'auto', positions, max_len: 9 });
      const layout = buildTransformerLayout(cfg);
      const rng = new Rng(5);
      const params = Float64Array.from(initTransformerParams(cfg, layout, 6));
      for (let i = 0; i < params.length; i++) params[i] += 0.2 * rng.normal();
      const [b, l] = [2, 9];
      const ids = Int32Array.from({ length: b * l }, () => rng.int(cfg.vocab_size));
      const model = new TransformerModel(cfg, layout, 'float64');
      const want = model.forward(params, ids, b, l).logits;

      const decoder = new TransformerDecoder(model, params, b, l);
      const got = new Float64Array(want.length);
      for (let t = 0; t < l; t++) {
        const logits = decoder.step(Int32Array.from({ length: b }, (_, r) => ids[r * l + t]));
        for (let r = 0; r < b; r++) got.set(logits.subarray(r * 7, (r + 1) * 7), (r * l + t) * 7);
        expect(decoder.cacheSize).toBe(2 * cfg.n_layer * b * (t + 1) * cfg.d_model);
      }
      assertClose('decoded logits', got, want, { rtol: 1e-9, atolFactor: 1e-9 });
    });
  }
});
