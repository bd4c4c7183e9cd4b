import { describe, expect, it } from 'vitest';
import { createNodeGpu } from '../src/engine/webgpu/node';
import { Rng } from '../src/model/random';
import { findPreset } from '../src/presets';
import type { EnginePreference, RunConfig, TrainingCheckpoint } from '../src/protocol';
import { TrainingRun } from './trainingRun';

function tinyRun(engine: EnginePreference, model: Partial<RunConfig['model']> = {}): RunConfig {
  const preset = findPreset('e2e-tiny');
  if (!preset) throw new Error('preset e2e-tiny not found');
  const run = structuredClone(preset.run);
  const base = 'architecture' in model ? {} : run.model;
  return { ...run, engine, max_steps: 12, model: { ...base, ...model } as RunConfig['model'] };
}

const transformer: Partial<RunConfig['model']> = {
  architecture: 'transformer', vocab_size: 6, d_model: 16, n_layer: 1, n_head: 2, d_ff: 'auto', positions: 'rope', max_len: 12,
};

async function train(training: TrainingRun, steps: number): Promise<void> {
  for (let i = 0; i < steps; i++) await training.trainStep(training.nextBatch());
}

/** Trains `total` steps straight through, and again with a checkpoint taken at `split` and a new engine built from it. */
async function trainBothWays(run: RunConfig, gpu: GPU | undefined, split: number, total: number) {
  const straight = await TrainingRun.create(run, { gpu });
  await train(straight, total);
  const expected = await straight.engine.readTrainingState();
  straight.dispose();

  const first = await TrainingRun.create(run, { gpu });
  await train(first, split);
  const checkpoint = await first.checkpoint();
  first.dispose();
  const resumed = await TrainingRun.create(run, { gpu }, checkpoint);
  expect(resumed.step).toBe(split);
  await train(resumed, total - split);
  const actual = await resumed.engine.readTrainingState();
  const nextBatch = resumed.nextBatch();
  resumed.dispose();
  return { expected, actual, checkpoint, nextBatch };
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  expect(a).toHaveLength(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

describe('Rng state', () => {
  it('fromState continues the same sequence', () => {
    const rng = new Rng(42);
    for (let i = 0; i < 5; i++) rng.nextUint32();
    const copy = Rng.fromState(rng.savedState);
    const expected = Array.from({ length: 8 }, () => rng.nextUint32());
    expect(Array.from({ length: 8 }, () => copy.nextUint32())).toEqual(expected);
  });

  it('fromState rejects invalid state', () => {
    expect(() => Rng.fromState(-1)).toThrow(/state -1 is invalid/);
    expect(() => Rng.fromState(2 ** 32)).toThrow(/from 0 to 4294967295/);
    expect(() => Rng.fromState(1.5)).toThrow(RangeError);
  });
});

describe('TrainingRun checkpoints on the CPU engine', () => {
  it.each([
    ['Mamba', {}],
    ['Transformer', transformer],
  ])('%s resume equals straight training', async (_name, model) => {
    const { expected, actual, checkpoint } = await trainBothWays(tinyRun('cpu', model), undefined, 5, 9);
    expect(checkpoint.step).toBe(5);
    // The CPU engine is deterministic, so the two ways agree bit for bit.
    expect(actual.params).toEqual(expected.params);
    expect(actual.m).toEqual(expected.m);
    expect(actual.v).toEqual(expected.v);
    // The moments are live state, not zeros.
    expect(actual.v.some((x) => x > 0)).toBe(true);
  });

  it('keeps training time and data', async () => {
    let clock = 0;
    const run = tinyRun('cpu');
    const training = await TrainingRun.create(run, { gpu: undefined, now: () => (clock += 10) });
    await train(training, 3);
    await training.readMetrics(3, 0);
    const checkpoint = await training.checkpoint();
    const next = training.nextBatch();
    training.dispose();
    expect(checkpoint.elapsedMs).toBeGreaterThan(0);

    const resumed = await TrainingRun.create(run, { gpu: undefined }, checkpoint);
    expect(resumed.elapsedMs).toBe(checkpoint.elapsedMs);
    expect(resumed.nextBatch()).toEqual(next);
    resumed.dispose();
  });

  it('rejects unfitting checkpoints', async () => {
    const small = await TrainingRun.create(tinyRun('cpu'), { gpu: undefined });
    const checkpoint = await small.checkpoint();
    small.dispose();
    const wider = tinyRun('cpu', { d_model: 24 });
    await expect(TrainingRun.create(wider, { gpu: undefined }, checkpoint)).rejects.toThrow(
      /params has \d+ floats; this model needs \d+: it was saved for another model/,
    );
    const late: TrainingCheckpoint = { ...checkpoint, step: 13 };
    await expect(TrainingRun.create(tinyRun('cpu'), { gpu: undefined }, late)).rejects.toThrow(
      /step 13 is invalid for this run: it must be an integer from 0 to max_steps = 12/,
    );
    const badRng: TrainingCheckpoint = { ...checkpoint, dataRngState: -5 };
    await expect(TrainingRun.create(tinyRun('cpu'), { gpu: undefined }, badRng)).rejects.toThrow(/state -5 is invalid/);
    const badTime: TrainingCheckpoint = { ...checkpoint, elapsedMs: Number.NaN };
    await expect(TrainingRun.create(tinyRun('cpu'), { gpu: undefined }, badTime)).rejects.toThrow(/training time NaN ms is invalid/);
  });
});

describe('TrainingRun checkpoints on the WebGPU engines', () => {
  it.each([
    ['Mamba', {}],
    ['Transformer', transformer],
  ])('%s resume equals straight training', async (_name, model) => {
    const gpu = await createNodeGpu();
    const { expected, actual, checkpoint } = await trainBothWays(tinyRun('webgpu', model), gpu, 4, 7);
    expect(checkpoint.params.length).toBe(expected.params.length);
    // The same kernels on the same inputs; only the order of float sums may differ between submissions.
    expect(maxDifference(actual.params, expected.params)).toBeLessThan(1e-6);
    expect(maxDifference(actual.m, expected.m)).toBeLessThan(1e-6);
    expect(maxDifference(actual.v, expected.v)).toBeLessThan(1e-6);
    expect(actual.v.some((x) => x > 0)).toBe(true);
  });

  it('CPU checkpoint resumes on WebGPU', async () => {
    const gpu = await createNodeGpu();
    const cpu = await TrainingRun.create(tinyRun('cpu'), { gpu: undefined });
    await train(cpu, 3);
    const checkpoint = await cpu.checkpoint();
    const gpuRun = await TrainingRun.create(tinyRun('webgpu'), { gpu }, checkpoint);
    const state = await gpuRun.engine.readTrainingState();
    expect(state.params).toEqual(checkpoint.params);
    expect(state.m).toEqual(checkpoint.m);
    expect(state.v).toEqual(checkpoint.v);
    // One more step on each engine from the same state agrees to float32 rounding.
    await train(cpu, 1);
    await train(gpuRun, 1);
    const [cpuParams, gpuParams] = await Promise.all([cpu.engine.readParams(), gpuRun.engine.readParams()]);
    expect(maxDifference(gpuParams, cpuParams)).toBeLessThan(1e-5);
    cpu.dispose();
    gpuRun.dispose();
  });
});
