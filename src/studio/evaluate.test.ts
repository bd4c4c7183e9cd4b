import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../model/config';
import { MambaModel } from '../model/mamba';
import { buildModelLayout, initModelParams } from '../model/models';
import { resolveTransformerConfig, TransformerModel, type TransformerConfig } from '../model/transformer';
import type { InductionHeadsTask, SelectiveCopyingTask } from '../tasks';
import {
  attentionForwardBytes, attentionForwardMultiplyAdds, drawTestSequences, evaluateAccuracy, evaluateExtrapolation,
  planAttention, predictLastTokens,
} from './evaluate';
import type { ExtrapolationSpec } from './paperPresets';

const task: InductionHeadsTask = { kind: 'induction-heads', vocab_size: 6 };
const mamba = resolveConfig({ vocab_size: 6, d_model: 8, n_layer: 2, d_state: 4, expand: 2, d_conv: 4, dt_rank: 'auto' });
const transformerConfig: TransformerConfig = {
  architecture: 'transformer',
  vocab_size: 6,
  d_model: 8,
  n_layer: 2,
  n_head: 2,
  d_ff: 'auto',
  positions: 'absolute',
  max_len: 16,
};
const transformer = resolveTransformerConfig(transformerConfig);
const unlimited: ExtrapolationSpec = { lengths: [8, 16, 32], samples: 3, attentionMemoryLimit: Infinity, attentionComputeLimit: Infinity };

function weights(config: typeof mamba | typeof transformer, seed = 3) {
  return initModelParams(config, buildModelLayout(config), seed);
}

/** Argmax at the last position of each sequence from the model's parallel forward. */
function parallelPredictions(model: MambaModel | TransformerModel, params: Float32Array, tokens: Int32Array, samples: number, length: number) {
  const { logits } = model.forward(params, tokens, samples, length);
  const vocab = model.cfg.vocab_size;
  return Array.from({ length: samples }, (_, s) => {
    const offset = (s * length + length - 1) * vocab;
    let best = 0;
    for (let v = 1; v < vocab; v++) if (logits[offset + v] > logits[offset + best]) best = v;
    return best;
  });
}

describe('drawTestSequences', () => {
  it('answer follows the first trigger', () => {
    const { tokens, answers } = drawTestSequences(task, 12, 4, 1);
    const trigger = task.vocab_size - 1;
    for (let s = 0; s < 4; s++) {
      const row = tokens.subarray(s * 12, (s + 1) * 12);
      expect(row[11]).toBe(trigger);
      const first = row.indexOf(trigger);
      expect(first).toBeLessThan(11);
      expect(answers[s]).toBe(row[first + 1]);
    }
  });

  it('same seed and length repeat', () => {
    expect(drawTestSequences(task, 16, 3, 5).tokens).toEqual(drawTestSequences(task, 16, 3, 5).tokens);
    expect(drawTestSequences(task, 16, 3, 5).tokens).not.toEqual(drawTestSequences(task, 16, 3, 6).tokens);
  });
});

describe('predictLastTokens', () => {
  it('recurrent Mamba matches parallel forward', () => {
    // Large enough weights make the predictions differ between sequences, so agreement is not by chance.
    const params = weights(mamba, 11).map((w) => w * 4);
    const { tokens } = drawTestSequences(task, 24, 8, 2);
    const recurrent = Array.from(predictLastTokens(mamba, params, tokens, 8, 24));
    const parallel = parallelPredictions(new MambaModel(mamba, buildModelLayout(mamba)), params, tokens, 8, 24);
    expect(recurrent).toEqual(parallel);
    expect(new Set(parallel).size).toBeGreaterThan(1);
  });

  it('attention matches batched forward', () => {
    const params = weights(transformer, 11).map((w) => w * 20);
    const { tokens } = drawTestSequences(task, 16, 6, 2);
    const single = Array.from(predictLastTokens(transformer, params, tokens, 6, 16));
    const batched = parallelPredictions(new TransformerModel(transformer, buildModelLayout(transformer)), params, tokens, 6, 16);
    expect(single).toEqual(batched);
  });
});

describe('evaluateAccuracy', () => {
  it('batch size does not change accuracy', () => {
    const copying: SelectiveCopyingTask = { kind: 'selective-copying', vocab_size: 6, n_data: 2 };
    const params = weights(mamba, 5).map((w) => w * 4);
    const whole = evaluateAccuracy(mamba, params, copying, 12, 10, 9, 10);
    const split = evaluateAccuracy(mamba, params, copying, 12, 10, 9, 3);
    expect(split).toBe(whole);
    expect(whole).toBeGreaterThanOrEqual(0);
    expect(whole).toBeLessThanOrEqual(1);
  });
});

describe('planAttention', () => {
  it('absolute positions stop at max_len', () => {
    expect(planAttention(transformer, 16, unlimited)).toBe('ok');
    expect(planAttention(transformer, 17, unlimited)).toBe('positions beyond max_len');
    const rope = resolveTransformerConfig({ ...transformerConfig, positions: 'rope' });
    expect(planAttention(rope, 1 << 20, unlimited)).toBe('ok');
  });

  it('memory limit applies per sequence', () => {
    const bytes = attentionForwardBytes(transformer, 16);
    expect(planAttention(transformer, 16, { ...unlimited, attentionMemoryLimit: bytes })).toBe('ok');
    expect(planAttention(transformer, 16, { ...unlimited, attentionMemoryLimit: bytes - 1 })).toBe('exceeds memory');
  });

  it('compute limit counts every sample', () => {
    const multiplyAdds = unlimited.samples * attentionForwardMultiplyAdds(transformer, 16);
    expect(planAttention(transformer, 16, { ...unlimited, attentionComputeLimit: multiplyAdds })).toBe('ok');
    expect(planAttention(transformer, 16, { ...unlimited, attentionComputeLimit: multiplyAdds - 1 })).toBe('exceeds compute budget');
  });
});

describe('attention cost estimates', () => {
  it('bytes cover the forward arrays', () => {
    const length = 16;
    const model = new TransformerModel(transformer, buildModelLayout(transformer));
    const fwd = model.forward(weights(transformer), drawTestSequences(task, length, 1, 1).tokens, 1, length);
    let kept = fwd.logits.byteLength + fwd.hidden.byteLength + fwd.rstdF.byteLength + fwd.residOut.byteLength;
    for (const block of fwd.blocks) for (const array of Object.values(block)) kept += array.byteLength;
    const estimate = attentionForwardBytes(transformer, length);
    // The estimate adds the o_proj and down_proj outputs, which the forward drops after use.
    expect(estimate).toBeGreaterThanOrEqual(kept);
    expect(estimate).toBeLessThan(1.3 * kept);
  });

  it('multiply-adds grow quadratically', () => {
    const small = attentionForwardMultiplyAdds(transformer, 1024);
    const large = attentionForwardMultiplyAdds(transformer, 4096);
    expect(large / small).toBeGreaterThan(10);
    expect(large / small).toBeLessThan(16);
  });
});

describe('evaluateExtrapolation', () => {
  it('marks lengths beyond max_len', () => {
    const seen: number[] = [];
    const points = evaluateExtrapolation(transformer, weights(transformer), task, unlimited, 1, (p) => seen.push(p.length));
    expect(seen).toEqual([8, 16, 32]);
    expect(points.map((p) => p.status)).toEqual(['ok', 'ok', 'positions beyond max_len']);
    expect(points[0].method).toBe('parallel');
    expect(points[0].samples).toBe(3);
    expect(points[2].accuracy).toBeNull();
    expect(points[2].method).toBeNull();
  });

  it('Mamba runs every length recurrently', () => {
    const spec = { ...unlimited, attentionMemoryLimit: 0, attentionComputeLimit: 0 };
    const points = evaluateExtrapolation(mamba, weights(mamba), task, spec, 1);
    expect(points.map((p) => p.method)).toEqual(['recurrent', 'recurrent', 'recurrent']);
    for (const point of points) {
      expect(point.status).toBe('ok');
      expect(point.accuracy).toBeGreaterThanOrEqual(0);
      expect(point.accuracy).toBeLessThanOrEqual(1);
    }
  });

  it('accuracy matches predictions', () => {
    const params = weights(mamba, 11).map((w) => w * 4);
    const [point] = evaluateExtrapolation(mamba, params, task, { ...unlimited, lengths: [24], samples: 8 }, 2);
    const { tokens, answers } = drawTestSequences(task, 24, 8, 2);
    const predictions = predictLastTokens(mamba, params, tokens, 8, 24);
    const hits = Array.from(predictions).filter((p, s) => p === answers[s]).length;
    expect(point.accuracy).toBe(hits / 8);
  });
});
