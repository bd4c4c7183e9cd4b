import { describe, expect, it } from 'vitest';
import { buildModelLayout, initModelParams, resolveModelConfig } from '../src/model/models';
import { findPreset } from '../src/presets';
import type { RunConfig } from '../src/protocol';
import { evaluateExtrapolation, type ExtrapolationPoint } from '../src/studio/evaluate';
import { extrapolationSeed, type ExtrapolationRequest } from '../src/studio/extrapolationProtocol';
import { E2E_EXTRAPOLATION_TINY } from '../src/studio/grids';
import { ExtrapolationEvaluator, specErrors } from './evaluator';

const [mambaRow, attentionRow] = E2E_EXTRAPOLATION_TINY.runs;
const spec = E2E_EXTRAPOLATION_TINY.extrapolation!;

/** Seeded initial weights, scaled so that predictions differ between sequences. */
function weightsOf(config: RunConfig, seed = 7): Float32Array {
  const resolved = resolveModelConfig(config.model);
  return initModelParams(resolved, buildModelLayout(resolved), seed).map((w) => w * 4);
}

function request(config: RunConfig, overrides: Partial<ExtrapolationRequest> = {}): ExtrapolationRequest {
  return { config, params: weightsOf(config), spec, seed: extrapolationSeed(config), ...overrides };
}

describe('ExtrapolationEvaluator', () => {
  it('streams the points evaluateExtrapolation returns', async () => {
    const streamed: ExtrapolationPoint[] = [];
    const points = await new ExtrapolationEvaluator().evaluate(request(mambaRow.config), (point) => streamed.push(point));
    const expected = evaluateExtrapolation(resolveModelConfig(mambaRow.config.model), weightsOf(mambaRow.config), { kind: 'induction-heads', vocab_size: 16 }, spec, 2001);
    const withoutTime = (list: ExtrapolationPoint[]) => list.map(({ seconds: _seconds, ...rest }) => rest);
    expect(withoutTime(points)).toEqual(withoutTime(expected));
    expect(streamed).toEqual(points);
    expect(points.map((point) => point.length)).toEqual([16, 32, 64, 128]);
    expect(points.every((point) => point.method === 'recurrent' && point.samples === 8)).toBe(true);
  });

  it('marks attention beyond its position table', async () => {
    const points = await new ExtrapolationEvaluator().evaluate(request(attentionRow.config));
    expect(points.map((point) => point.status)).toEqual(['ok', 'ok', 'ok', 'positions beyond max_len']);
    expect(points[3].accuracy).toBeNull();
    for (const point of points.slice(0, 3)) {
      expect(point.method).toBe('parallel');
      expect(point.accuracy).toBeGreaterThanOrEqual(0);
      expect(point.accuracy).toBeLessThanOrEqual(1);
    }
  });

  it('rejects a selective copying run', async () => {
    const copying: RunConfig = { ...findPreset('e2e-tiny')!.run, max_steps: 10 };
    await expect(new ExtrapolationEvaluator().evaluate(request(copying))).rejects.toThrow(
      'length extrapolation is tested on induction heads, and this run trains selective-copying: add an induction-heads grid',
    );
  });

  it('rejects weights of another model', async () => {
    const size = weightsOf(mambaRow.config).length;
    await expect(
      new ExtrapolationEvaluator().evaluate(request(mambaRow.config, { params: new Float32Array(size - 1) })),
    ).rejects.toThrow(`the stored weights have ${size - 1} values, and this model needs ${size}: train this run again`);
  });

  it('rejects an invalid config', async () => {
    const broken: RunConfig = { ...mambaRow.config, train: { ...mambaRow.config.train, seq_len: 2 } };
    await expect(new ExtrapolationEvaluator().evaluate(request(broken))).rejects.toThrow(/^the run's config is invalid: seq_len = 2 is too short/);
  });

  it('rejects an invalid spec', async () => {
    const bad = { ...spec, lengths: [64, 2.5], samples: 0 };
    await expect(new ExtrapolationEvaluator().evaluate(request(mambaRow.config, { spec: bad }))).rejects.toThrow(
      'the extrapolation spec is invalid: test length 2.5 is invalid: use an integer from 4 to 1048576, such as 256; ' +
        'samples = 0 is invalid: use a positive integer such as 64',
    );
  });
});

describe('specErrors', () => {
  it('accepts every grid spec', () => {
    expect(specErrors(spec)).toEqual([]);
  });

  it('names each bad value', () => {
    expect(specErrors({ lengths: [], samples: 1, attentionMemoryLimit: -1, attentionComputeLimit: Number.NaN })).toEqual([
      'the test lengths are empty: list at least one length, such as 64',
      'attentionMemoryLimit = -1 is invalid: use a number of at least 0',
      'attentionComputeLimit = NaN is invalid: use a number of at least 0',
    ]);
    expect(specErrors({ ...spec, lengths: [3, 2 ** 21] })).toEqual([
      'test length 3 is invalid: use an integer from 4 to 1048576, such as 256',
      'test length 2097152 is invalid: use an integer from 4 to 1048576, such as 256',
    ]);
  });
});
