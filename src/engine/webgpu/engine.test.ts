import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveConfig, type MambaConfig, type ResolvedConfig, type TrainConfig } from '../../model/config';
import { MambaModel } from '../../model/mamba';
import { buildLayout, initParams } from '../../model/params';
import { Rng } from '../../model/random';
import { CpuEngine } from '../cpu';
import type { Batch } from '../types';
import { WebGpuEngine, type WebGpuEngineOptions } from './engine';
import { requestNodeDevice } from './node';
import { expectClose, randomIds } from './testing';

const config = resolveConfig({ vocab_size: 6, d_model: 8, n_layer: 2, d_state: 4, expand: 2, d_conv: 4, dt_rank: 'auto' });
// Gradient norms of the 20-step run range from about 0.7 to 2.5, so a clip of 1.1 applies on some steps and not others.
const train: TrainConfig = { learning_rate: 0.01, batch_size: 2, seq_len: 9, seed: 7, weight_decay: 0.1, grad_clip: 1.1 };
const layout = buildLayout(config);

/** Seeded random batches in which about two thirds of the positions are answer positions. */
function makeBatch(rng: Rng): Batch {
  const T = train.batch_size * train.seq_len;
  const mask = new Float32Array(T);
  for (let i = 0; i < T; i++) mask[i] = rng.uniform() < 0.67 ? 1 : 0;
  return { inputs: randomIds(rng, T, config.vocab_size), targets: randomIds(rng, T, config.vocab_size), mask };
}

const engines: WebGpuEngine[] = [];
afterEach(() => {
  for (const engine of engines.splice(0)) engine.dispose();
});

async function createGpuEngine(
  params: Float32Array, onDeviceError?: (message: string) => void, options?: WebGpuEngineOptions, model: ResolvedConfig = config,
) {
  const { device, adapterName } = await requestNodeDevice();
  const engine = await WebGpuEngine.create(device, adapterName, model, train, params, onDeviceError, options);
  engines.push(engine);
  return { engine, device };
}

describe('WebGPU engine', () => {
  it('engine matches CPU over 20 steps', async () => {
    const params = initParams(config, layout, train.seed);
    const cpu = new CpuEngine(config, train, params);
    const { engine: gpu } = await createGpuEngine(params);
    expect(gpu.scan).toBe('fused');
    const rng = new Rng(101);

    for (let step = 1; step <= 20; step++) {
      const batch = makeBatch(rng);
      cpu.step(batch, step, train.learning_rate);
      gpu.step(batch, step, train.learning_rate);
      const want = await cpu.readMetrics();
      const got = await gpu.readMetrics();
      expectClose(`loss at step ${step}`, [got.loss], [want.loss]);
      expect(got.steps).toBe(1);
      let answers = 0;
      for (const m of batch.mask) answers += m;
      // An answer whose two largest logits nearly tie may flip between float32 orders of summation.
      expect(Math.abs(got.accuracy - want.accuracy), `accuracy at step ${step}`).toBeLessThanOrEqual(1 / answers + 1e-6);
    }

    const wantParams = await cpu.readParams();
    const gotParams = await gpu.readParams();
    for (const e of layout.entries) {
      expectClose(e.name, gotParams.subarray(e.offset, e.offset + e.size), wantParams.subarray(e.offset, e.offset + e.size));
    }
    expectClose('all parameters with padding', gotParams, wantParams);
  });

  it('engine with simple scan matches CPU', async () => {
    const params = initParams(config, layout, 11);
    const cpu = new CpuEngine(config, train, params);
    const { engine: gpu } = await createGpuEngine(params, undefined, { scan: 'simple' });
    expect(gpu.scan).toBe('simple');
    const rng = new Rng(404);
    for (let step = 1; step <= 5; step++) {
      const batch = makeBatch(rng);
      cpu.step(batch, step, train.learning_rate);
      gpu.step(batch, step, train.learning_rate);
      expectClose(`loss at step ${step}`, [(await gpu.readMetrics()).loss], [(await cpu.readMetrics()).loss]);
    }
    expectClose('parameters after 5 steps', await gpu.readParams(), await cpu.readParams());
  });

  it('engine rejects an unknown scan', async () => {
    const { device, adapterName } = await requestNodeDevice();
    const options = { scan: 'parallel' } as unknown as WebGpuEngineOptions;
    await expect(WebGpuEngine.create(device, adapterName, config, train, initParams(config, layout, 1), undefined, options))
      .rejects.toThrow(/scan = parallel is invalid/);
    device.destroy();
  });

  it('engine averages metrics between reads', async () => {
    const params = initParams(config, layout, 3);
    const cpu = new CpuEngine(config, train, params);
    const { engine: gpu } = await createGpuEngine(params);
    const rng = new Rng(202);
    for (let step = 1; step <= 3; step++) {
      const batch = makeBatch(rng);
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

  it('engine probe matches CPU', async () => {
    const params = initParams(config, layout, 5);
    const cpu = new CpuEngine(config, train, params);
    const { engine: gpu } = await createGpuEngine(params);
    const rng = new Rng(303);
    for (let step = 1; step <= 3; step++) {
      const batch = makeBatch(rng);
      cpu.step(batch, step, train.learning_rate);
      gpu.step(batch, step, train.learning_rate);
    }

    const model = new MambaModel(config, layout);
    const trained = await cpu.readParams();
    for (const length of [train.seq_len, 4, 1]) {
      const tokens = randomIds(rng, length, config.vocab_size);
      const want = await cpu.probe(tokens);
      const got = await gpu.probe(tokens);
      for (let i = 0; i < config.n_layer; i++) {
        expectClose(`layer ${i} delta at length ${length}`, got.delta[i], want.delta[i]);
        expectClose(`layer ${i} states at length ${length}`, got.states[i], want.states[i]);
      }

      // Predictions must agree wherever the CPU's top two logits are not a near tie.
      const logits = model.forward(trained, tokens, 1, length).logits;
      const vocab = config.vocab_size;
      for (let t = 0; t < length; t++) {
        const row = Array.from(logits.subarray(t * vocab, (t + 1) * vocab)).sort((a, b) => b - a);
        if (row[0] - row[1] > 1e-4) expect(got.predictions[t], `prediction at ${t}, length ${length}`).toBe(want.predictions[t]);
      }
    }
  });

  it('engine rejects out-of-range token ids', async () => {
    const { engine } = await createGpuEngine(initParams(config, layout, 1));
    const batch = makeBatch(new Rng(1));
    batch.inputs[3] = config.vocab_size;
    expect(() => engine.step(batch, 1, 0.01)).toThrow(/inputs\[3\] = 6 is outside the vocabulary/);
    await expect(engine.probe(new Int32Array(train.seq_len + 1))).rejects.toThrow(/probe length 10 is invalid/);
  });

  it('engine reports uncaptured GPU errors', async () => {
    const messages: string[] = [];
    const { engine, device } = await createGpuEngine(initParams(config, layout, 1), (m) => messages.push(m));
    // MAP_READ combined with STORAGE is invalid, and nothing captures the error.
    device.createBuffer({ label: 'test: invalid buffer', size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
    await vi.waitFor(() => expect(messages.length).toBeGreaterThan(0));
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/WebGPU error: .*MapRead/);
    expect(() => engine.step(makeBatch(new Rng(2)), 1, 0.01)).toThrow(/WebGPU error/);
    await expect(engine.readMetrics()).rejects.toThrow(/WebGPU error/);
  });

  it('engine reports device loss', async () => {
    const messages: string[] = [];
    const { engine, device } = await createGpuEngine(initParams(config, layout, 1), (m) => messages.push(m));
    device.destroy();
    await device.lost;
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(messages[0]).toMatch(/device lost/);
    await expect(engine.readParams()).rejects.toThrow(/device lost/);
  });

  it('engine dispose frees every buffer', async () => {
    const messages: string[] = [];
    const { engine, device } = await createGpuEngine(initParams(config, layout, 1), (m) => messages.push(m));
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

/** Every ablation of the model, and combinations that take other paths through the engine. */
const ABLATIONS: [string, Partial<MambaConfig>][] = [
  ['fixed Δ', { selective_delta: false }],
  ['fixed B', { selective_B: false }],
  ['fixed C', { selective_C: false }],
  ['only Δ selective', { selective_B: false, selective_C: false }],
  ['LTI S4D layer', { selective_delta: false, selective_B: false, selective_C: false }],
  ['no gate', { block: 'no-gate' }],
  ['no conv', { use_conv: false }],
  ['no softplus', { delta_softplus: false }],
  ['random A', { a_init: 'random' }],
  ['H3 block', { block: 'h3' }],
  ['LTI H3 block without conv', { block: 'h3', use_conv: false, selective_delta: false, selective_B: false, selective_C: false }],
];

describe('WebGPU engine ablations', () => {
  for (const [name, ablation] of ABLATIONS) {
    for (const scan of ['fused', 'simple'] as const) {
      it(`${scan} engine matches CPU with ${name}`, async () => {
        const model = resolveConfig({ ...config, ...ablation });
        const params = initParams(model, buildLayout(model), 13);
        const cpu = new CpuEngine(model, train, params);
        const { engine: gpu } = await createGpuEngine(params, undefined, { scan }, model);
        const rng = new Rng(505);
        for (let step = 1; step <= 4; step++) {
          const batch = makeBatch(rng);
          cpu.step(batch, step, train.learning_rate);
          gpu.step(batch, step, train.learning_rate);
          expectClose(`loss at step ${step}`, [(await gpu.readMetrics()).loss], [(await cpu.readMetrics()).loss]);
        }
        const wantParams = await cpu.readParams();
        const gotParams = await gpu.readParams();
        for (const e of gpu.layout.entries) {
          expectClose(e.name, gotParams.subarray(e.offset, e.offset + e.size), wantParams.subarray(e.offset, e.offset + e.size));
        }
      });
    }
  }

  it('engine probe matches CPU with H3 and fixed B', async () => {
    const model = resolveConfig({ ...config, block: 'h3', selective_B: false, delta_softplus: false });
    const params = initParams(model, buildLayout(model), 17);
    const cpu = new CpuEngine(model, train, params);
    const { engine: gpu } = await createGpuEngine(params, undefined, {}, model);
    const tokens = randomIds(new Rng(606), 6, model.vocab_size);
    const want = await cpu.probe(tokens);
    const got = await gpu.probe(tokens);
    for (let i = 0; i < model.n_layer; i++) {
      expectClose(`layer ${i} delta`, got.delta[i], want.delta[i]);
      expectClose(`layer ${i} states`, got.states[i], want.states[i]);
    }
  });
});
