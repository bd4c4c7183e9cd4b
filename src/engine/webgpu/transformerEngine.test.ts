import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TrainConfig } from '../../model/config';
import { Rng } from '../../model/random';
import {
  buildTransformerLayout, initTransformerParams, resolveTransformerConfig, TransformerModel, type PositionEncoding,
  type ResolvedTransformerConfig,
} from '../../model/transformer';
import { CpuEngine } from '../cpu';
import type { Batch } from '../types';
import { requestNodeDevice } from './node';
import { expectClose, randomIds } from './testing';
import { WebGpuTransformerEngine } from './transformerEngine';

interface Case {
  name: string;
  d_model: number;
  n_head: number;
  positions: PositionEncoding;
  seq_len: number;
}

function makeConfig(c: Pick<Case, 'd_model' | 'n_head' | 'positions'>): ResolvedTransformerConfig {
  return resolveTransformerConfig({
    architecture: 'transformer', vocab_size: 7, d_model: c.d_model, n_layer: 2, n_head: c.n_head, d_ff: 'auto',
    positions: c.positions, max_len: 12,
  });
}

function makeTrain(seqLen: number): TrainConfig {
  return { learning_rate: 0.01, batch_size: 2, seq_len: seqLen, seed: 7, weight_decay: 0.1, grad_clip: 1 };
}

/** Seeded random batches in which about two thirds of the positions are answer positions. */
function makeBatch(rng: Rng, train: TrainConfig, vocab: number): Batch {
  const T = train.batch_size * train.seq_len;
  const mask = new Float32Array(T);
  for (let i = 0; i < T; i++) mask[i] = rng.uniform() < 0.67 ? 1 : 0;
  // A batch without answers would leave nothing to compare, so the first position always counts.
  mask[0] = 1;
  return { inputs: randomIds(rng, T, vocab), targets: randomIds(rng, T, vocab), mask };
}

const engines: WebGpuTransformerEngine[] = [];
afterEach(() => {
  for (const engine of engines.splice(0)) engine.dispose();
});

async function createGpuEngine(
  config: ResolvedTransformerConfig, train: TrainConfig, params: Float32Array, onDeviceError?: (message: string) => void,
) {
  const { device, adapterName } = await requestNodeDevice();
  const engine = await WebGpuTransformerEngine.create(device, adapterName, config, train, params, onDeviceError);
  engines.push(engine);
  return { engine, device };
}

/** Trains both engines on the same batches and compares loss and accuracy after every step, then every parameter. */
async function checkTraining(c: Case, steps: number) {
  const config = makeConfig(c);
  const train = makeTrain(c.seq_len);
  const layout = buildTransformerLayout(config);
  const params = initTransformerParams(config, layout, train.seed);
  const cpu = new CpuEngine(config, train, params);
  const { engine: gpu } = await createGpuEngine(config, train, params);
  const rng = new Rng(101);
  const norms: number[] = [];

  for (let step = 1; step <= steps; step++) {
    const batch = makeBatch(rng, train, config.vocab_size);
    cpu.step(batch, step, train.learning_rate);
    gpu.step(batch, step, train.learning_rate);
    const want = await cpu.readMetrics();
    const got = await gpu.readMetrics();
    expectClose(`${c.name}: loss at step ${step}`, [got.loss], [want.loss]);
    expect(got.steps).toBe(1);
    let answers = 0;
    for (const m of batch.mask) answers += m;
    // An answer whose two largest logits nearly tie may flip between float32 orders of summation.
    expect(Math.abs(got.accuracy - want.accuracy), `${c.name}: accuracy at step ${step}`).toBeLessThanOrEqual(1 / answers + 1e-6);
    norms.push((await gpu.readGradNorm()).norm);
  }

  const wantParams = await cpu.readParams();
  const gotParams = await gpu.readParams();
  for (const e of layout.entries) {
    expectClose(`${c.name}: ${e.name}`, gotParams.subarray(e.offset, e.offset + e.size), wantParams.subarray(e.offset, e.offset + e.size));
  }
  expectClose(`${c.name}: all parameters with padding`, gotParams, wantParams);
  return norms;
}

describe('WebGPU Transformer engine', () => {
  it('rotary engine matches CPU over 20 steps', async () => {
    const norms = await checkTraining({ name: 'rope', d_model: 8, n_head: 2, positions: 'rope', seq_len: 9 }, 20);
    // Gradient norms of this run range from about 0.5 to 1.35, so the clip of 1 applies on some steps and not others.
    expect(Math.max(...norms)).toBeGreaterThan(1);
    expect(Math.min(...norms)).toBeLessThan(1);
  });

  it('absolute engine matches CPU over 20 steps', async () => {
    await checkTraining({ name: 'absolute', d_model: 8, n_head: 2, positions: 'absolute', seq_len: 9 }, 20);
  });

  it('engine matches CPU at length 5', async () => {
    await checkTraining({ name: 'rope', d_model: 8, n_head: 2, positions: 'rope', seq_len: 5 }, 10);
    await checkTraining({ name: 'absolute', d_model: 8, n_head: 2, positions: 'absolute', seq_len: 5 }, 10);
  });

  it('engine matches CPU at odd head_dim', async () => {
    // head_dim 3 leaves the last column of every head unrotated.
    await checkTraining({ name: 'rope', d_model: 6, n_head: 2, positions: 'rope', seq_len: 9 }, 10);
    await checkTraining({ name: 'absolute', d_model: 6, n_head: 2, positions: 'absolute', seq_len: 5 }, 10);
  });

  it('engine matches CPU at length 1', async () => {
    await checkTraining({ name: 'rope', d_model: 8, n_head: 2, positions: 'rope', seq_len: 1 }, 10);
    await checkTraining({ name: 'absolute', d_model: 8, n_head: 2, positions: 'absolute', seq_len: 1 }, 10);
  });

  it('engine averages metrics between reads', async () => {
    const config = makeConfig({ d_model: 8, n_head: 2, positions: 'rope' });
    const train = makeTrain(5);
    const params = initTransformerParams(config, buildTransformerLayout(config), 3);
    const cpu = new CpuEngine(config, train, params);
    const { engine: gpu } = await createGpuEngine(config, train, params);
    const rng = new Rng(202);
    for (let step = 1; step <= 3; step++) {
      const batch = makeBatch(rng, train, config.vocab_size);
      cpu.step(batch, step, train.learning_rate);
      gpu.step(batch, step, train.learning_rate);
      await gpu.flush();
    }
    const want = await cpu.readMetrics();
    const got = await gpu.readMetrics();
    expect(got.steps).toBe(3);
    expectClose('loss over 3 steps', [got.loss], [want.loss]);

    const empty = await gpu.readMetrics();
    expect(empty.steps).toBe(0);
    expect(empty.loss).toBeNaN();
  });

  for (const positions of ['rope', 'absolute'] as const) {
    it(`${positions} probe matches CPU`, async () => {
      const config = makeConfig({ d_model: 8, n_head: 2, positions });
      const train = makeTrain(9);
      const layout = buildTransformerLayout(config);
      const params = initTransformerParams(config, layout, 5);
      // Larger weights than the initialisation's, so the attention weights are far from uniform.
      for (let i = 0; i < params.length; i++) params[i] *= 10;
      const { engine: gpu } = await createGpuEngine(config, train, params);
      const rng = new Rng(303);
      for (let step = 1; step <= 3; step++) gpu.step(makeBatch(rng, train, config.vocab_size), step, train.learning_rate);

      // The CPU engine starts from the GPU's trained weights. Trained on its own, it would drift apart
      // where AdamW's first steps follow the sign of a gradient near 0, which float32 rounding can flip.
      const trained = await gpu.readParams();
      const cpu = new CpuEngine(config, train, trained);
      const model = new TransformerModel(config, layout);
      for (const length of [train.seq_len, 4, 1]) {
        const tokens = randomIds(rng, length, config.vocab_size);
        const want = await cpu.probe(tokens);
        const got = await gpu.probe(tokens);
        expect(got.delta).toEqual([]);
        expect(got.states).toEqual([]);
        expect(got.attention).toHaveLength(config.n_layer);
        for (let i = 0; i < config.n_layer; i++) {
          expect(got.attention[i]).toHaveLength(config.n_head * length * length);
          expectClose(`layer ${i} attention at length ${length}`, got.attention[i], want.attention[i]);
        }
        // The weights are far from uniform: some weight of the last row differs from 1 / length by more than 0.1.
        const last = got.attention[0].subarray((length - 1) * length, length * length);
        if (length > 1) expect(Math.max(...Array.from(last, (w) => Math.abs(w - 1 / length)))).toBeGreaterThan(0.1);

        // Predictions must agree wherever the CPU's top two logits are not a near tie.
        const logits = model.forward(trained, tokens, 1, length).logits;
        const vocab = config.vocab_size;
        for (let t = 0; t < length; t++) {
          const row = Array.from(logits.subarray(t * vocab, (t + 1) * vocab)).sort((a, b) => b - a);
          if (row[0] - row[1] > 1e-4) expect(got.predictions[t], `prediction at ${t}, length ${length}`).toBe(want.predictions[t]);
        }
      }
    });
  }

  it('engine rejects invalid configs', async () => {
    const train = makeTrain(9);
    const rope = makeConfig({ d_model: 8, n_head: 2, positions: 'rope' });
    const params = initTransformerParams(rope, buildTransformerLayout(rope), 1);
    const cases: [ResolvedTransformerConfig, RegExp][] = [
      [{ ...rope, positions: 'absolute', max_len: 4 }, /max_len = 4 is shorter than seq_len = 9: .*raise max_len or use rotary positions/],
      [{ ...rope, n_head: 3, head_dim: 8 / 3 }, /n_head = 3 does not divide d_model = 8/],
      [{ ...rope, head_dim: 2 }, /head_dim = 2 does not match the config, which gives 4/],
      [{ ...rope, d_ff: 0 }, /d_ff = 0 is out of range/],
      [{ ...rope, architecture: 'mamba' } as unknown as ResolvedTransformerConfig, /architecture = mamba is invalid for the Transformer engine/],
    ];
    for (const [config, message] of cases) {
      const { device, adapterName } = await requestNodeDevice();
      await expect(WebGpuTransformerEngine.create(device, adapterName, config, train, params)).rejects.toThrow(message);
      // The engine took the device, so a rejected config leaves it destroyed.
      expect((await device.lost).reason).toBe('destroyed');
    }
  });

  it('engine rejects out-of-range token ids', async () => {
    const config = makeConfig({ d_model: 8, n_head: 2, positions: 'rope' });
    const train = makeTrain(9);
    const { engine } = await createGpuEngine(config, train, initTransformerParams(config, buildTransformerLayout(config), 1));
    const batch = makeBatch(new Rng(1), train, config.vocab_size);
    batch.inputs[3] = config.vocab_size;
    expect(() => engine.step(batch, 1, 0.01)).toThrow(/inputs\[3\] = 7 is outside the vocabulary/);
    await expect(engine.probe(new Int32Array(train.seq_len + 1))).rejects.toThrow(/probe length 10 is invalid/);
    await expect(engine.probe(new Int32Array(0))).rejects.toThrow(/probe length 0 is invalid/);
  });

  it('engine reports uncaptured GPU errors', async () => {
    const config = makeConfig({ d_model: 8, n_head: 2, positions: 'rope' });
    const messages: string[] = [];
    const { engine, device } = await createGpuEngine(config, makeTrain(5),
      initTransformerParams(config, buildTransformerLayout(config), 1), (m) => messages.push(m));
    // MAP_READ combined with STORAGE is invalid, and nothing captures the error.
    device.createBuffer({ label: 'test: invalid buffer', size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
    await vi.waitFor(() => expect(messages.length).toBeGreaterThan(0));
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/WebGPU error: .*MapRead/);
    await expect(engine.readMetrics()).rejects.toThrow(/WebGPU error/);
  });

  it('engine reports device loss', async () => {
    const config = makeConfig({ d_model: 8, n_head: 2, positions: 'absolute' });
    const messages: string[] = [];
    const { engine, device } = await createGpuEngine(config, makeTrain(5),
      initTransformerParams(config, buildTransformerLayout(config), 1), (m) => messages.push(m));
    device.destroy();
    await device.lost;
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(messages[0]).toMatch(/device lost/);
    await expect(engine.readParams()).rejects.toThrow(/device lost/);
  });

  it('engine dispose frees every buffer', async () => {
    const config = makeConfig({ d_model: 8, n_head: 2, positions: 'rope' });
    const messages: string[] = [];
    const { engine, device } = await createGpuEngine(config, makeTrain(5),
      initTransformerParams(config, buildTransformerLayout(config), 1), (m) => messages.push(m));
    expect(engine.allocatedBytes).toBeGreaterThan(0);
    engine.dispose();
    expect(engine.allocatedBytes).toBe(0);
    await device.lost;
    await new Promise((resolve) => setTimeout(resolve, 0));
    // Losing the device on purpose is not an error.
    expect(messages).toEqual([]);
    await expect(engine.readParams()).rejects.toThrow(/disposed/);
  });
});
