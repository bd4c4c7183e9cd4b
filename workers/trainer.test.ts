import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/model/config';
import { findPreset } from '../src/presets';
import type { MetricsEvent, ProbeEvent, RunConfig, StatusEvent, TrainerEvent } from '../src/protocol';
import { createNodeGpu } from '../src/engine/webgpu/node';
import { Trainer } from './trainer';
import { countParameters } from '../src/model/models';
import { withArchitecture } from '../src/store/choices';

const nodeGpu = await createNodeGpu();

function tinyRun(overrides: Partial<RunConfig> = {}): RunConfig {
  const preset = findPreset('e2e-tiny');
  if (!preset) throw new Error('preset e2e-tiny not found');
  return { ...structuredClone(preset.run), engine: 'cpu', ...overrides };
}

function collect(trainer: Trainer) {
  const events: TrainerEvent[] = [];
  void trainer.subscribe((e) => events.push(e));
  return {
    events,
    metrics: () => events.filter((e): e is MetricsEvent => e.type === 'metrics'),
    probes: () => events.filter((e): e is ProbeEvent => e.type === 'probe'),
    statuses: () => events.filter((e): e is StatusEvent => e.type === 'status').map((e) => e.status),
  };
}

describe('Trainer on the CPU engine', () => {
  it('trains to max_steps and lowers the loss', async () => {
    const trainer = new Trainer({ gpu: () => undefined, metricsIntervalMs: 0, probeIntervalMs: 1e9 });
    const log = collect(trainer);
    const info = await trainer.configure(tinyRun({ max_steps: 150 }));
    expect(info.kind).toBe('cpu');
    expect(info.parameterCount).toBeGreaterThan(0);

    await trainer.start();
    await trainer.finished();
    const metrics = log.metrics();
    expect(trainer.currentStep).toBe(150);
    expect(metrics.at(-1)!.step).toBe(150);
    expect(log.statuses()).toEqual(['idle', 'running', 'done']);

    // Average the first and last ten reads; single steps are noisy.
    const mean = (xs: MetricsEvent[]) => xs.reduce((s, m) => s + m.loss, 0) / xs.length;
    const first = mean(metrics.slice(0, 10));
    const last = mean(metrics.slice(-10));
    expect(last).toBeLessThan(first * 0.8);
    expect(metrics.every((m) => m.tokensPerSecond > 0 && Number.isFinite(m.msPerStep))).toBe(true);
  });

  it('probe reports delta and states per layer', async () => {
    const trainer = new Trainer({ gpu: () => undefined });
    const run = tinyRun({ model: { ...tinyRun().model, n_layer: 2 } });
    await trainer.configure(run);
    const probe = await trainer.probe();
    const l = run.train.seq_len;
    expect(probe.tokens).toHaveLength(l);
    expect(probe.roles).toHaveLength(l);
    expect(probe.delta).toHaveLength(2);
    expect(probe.delta[1]).toHaveLength(l * probe.d_inner);
    expect(probe.states[0]).toHaveLength(l * probe.d_inner * probe.d_state);
    // Δ = softplus(·) is positive everywhere.
    expect(Math.min(...probe.delta[0])).toBeGreaterThan(0);
  });

  it('trains the Transformer baseline and probes its attention weights', async () => {
    const trainer = new Trainer({ gpu: () => undefined, metricsIntervalMs: 0, probeIntervalMs: 1e9 });
    const log = collect(trainer);
    const mamba = tinyRun();
    const run = withArchitecture({ ...mamba, max_steps: 150 }, 'transformer');
    const info = await trainer.configure(run);
    expect(info.parameterCount).toBe(countParameters(run.model));
    await trainer.start();
    await trainer.finished();
    const metrics = log.metrics();
    const mean = (xs: MetricsEvent[]) => xs.reduce((s, m) => s + m.loss, 0) / xs.length;
    expect(mean(metrics.slice(-10))).toBeLessThan(mean(metrics.slice(0, 10)) * 0.8);

    const probe = await trainer.probe();
    const l = run.train.seq_len;
    const nHead = (run.model as { n_head: number }).n_head;
    expect(probe.architecture).toBe('transformer');
    expect(probe.delta).toEqual([]);
    expect(probe.n_head).toBe(nHead);
    expect(probe.attention).toHaveLength(run.model.n_layer);
    const weights = probe.attention[0];
    expect(weights).toHaveLength(nHead * l * l);
    // Each query row is a softmax over the keys up to it, with nothing above the diagonal.
    for (let t = 0; t < l; t++) {
      const row = weights.subarray(t * l, (t + 1) * l);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(row.slice(t + 1).every((w) => w === 0)).toBe(true);
    }
  });

  it('pause stops the loop and start resumes it', async () => {
    const trainer = new Trainer({ gpu: () => undefined, metricsIntervalMs: 0 });
    const log = collect(trainer);
    await trainer.configure(tinyRun());
    await trainer.start();
    await new Promise((r) => setTimeout(r, 200));
    await trainer.pause();
    const pausedAt = trainer.currentStep;
    expect(pausedAt).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(trainer.currentStep).toBe(pausedAt);
    expect(log.statuses().at(-1)).toBe('paused');

    await trainer.start();
    await new Promise((r) => setTimeout(r, 100));
    await trainer.pause();
    expect(trainer.currentStep).toBeGreaterThan(pausedAt);
  });

  it('reset restores the initial weights', async () => {
    const trainer = new Trainer({ gpu: () => undefined });
    const log = collect(trainer);
    await trainer.configure(tinyRun({ max_steps: 20 }));
    const initial = log.probes()[0];
    await trainer.start();
    await trainer.finished();
    await trainer.reset();
    expect(trainer.currentStep).toBe(0);
    const afterReset = log.probes().at(-1)!;
    expect(afterReset.step).toBe(0);
    expect(Array.from(afterReset.delta[0])).toEqual(Array.from(initial.delta[0]));
  });

  it('configure rejects invalid fields by name', async () => {
    const trainer = new Trainer({ gpu: () => undefined });
    const bad = tinyRun();
    bad.model = { ...bad.model, d_state: 0 } as RunConfig['model'];
    bad.train = { ...bad.train, learning_rate: -1 };
    const error = await trainer.configure(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const fields = (error as ConfigError).errors.map((e) => e.field);
    expect(fields).toContain('d_state');
    expect(fields).toContain('learning_rate');
    expect((error as ConfigError).message).toContain('d_state = 0');
  });

  it('auto engine falls back to CPU with a reason', async () => {
    const trainer = new Trainer({ gpu: () => undefined });
    const info = await trainer.configure(tinyRun({ engine: 'auto' }));
    expect(info.kind).toBe('cpu');
    expect(info.fallbackReason).toMatch(/navigator\.gpu is missing/);
  });

  it('benchmark times each step after warm-up', async () => {
    // A fake clock that advances 5 ms per reading gives every timed step 5 ms.
    let clock = 0;
    const trainer = new Trainer({ gpu: () => undefined, now: () => (clock += 5) });
    const log = collect(trainer);
    const run = tinyRun();
    await trainer.configure(run);
    const eventsBefore = log.events.length;

    const timings = await trainer.benchmark(4, 2);
    expect(timings.stepMs).toEqual([5, 5, 5, 5]);
    expect(timings.tokensPerStep).toBe(run.train.batch_size * run.train.seq_len);
    expect(trainer.currentStep).toBe(6);
    expect(log.events.length).toBe(eventsBefore);
  });

  it('benchmark rejects while training runs', async () => {
    const trainer = new Trainer({ gpu: () => undefined });
    await trainer.configure(tinyRun());
    await trainer.start();
    const error = await trainer.benchmark(1, 0).catch((e: unknown) => e);
    await trainer.pause();
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('call pause() before benchmark()');
  });
});

describe('Trainer scan benchmark', () => {
  it('measures each length and reports it', async () => {
    const trainer = new Trainer({ gpu: () => nodeGpu });
    const seen: number[] = [];
    const result = await trainer.benchScan({ lengths: [33, 64], dInner: 8, dState: 4, repeats: 1 }, (p) => seen.push(p.length));
    expect(seen).toEqual([33, 64]);
    expect(result.points.map((p) => p.length)).toEqual([33, 64]);
    for (const p of result.points) {
      expect(p.fused_fwd_ms).toBeGreaterThan(0);
      expect(p.materializing_fwd_bwd_ms).toBeGreaterThan(0);
      expect(p.bytes).toBeGreaterThan(0);
    }
  });

  it('rejects without WebGPU and says why', async () => {
    const trainer = new Trainer({ gpu: () => undefined });
    await expect(trainer.benchScan({ lengths: [64], dInner: 8, dState: 4, repeats: 1 })).rejects.toThrow(/needs WebGPU.*navigator\.gpu is missing/);
  });
});

describe('Trainer memory and speed sweep', () => {
  const request = { lengths: [16, 32], d_model: 8, n_head: 2, d_state: 4, repeats: 1 };

  it('measures each length and reports it', async () => {
    const trainer = new Trainer({ gpu: () => nodeGpu });
    const seen: number[] = [];
    const result = await trainer.benchMemorySpeed(request, (p) => seen.push(p.length));
    expect(seen).toEqual([16, 32]);
    expect(result.points.map((p) => p.length)).toEqual([16, 32]);
    expect(result.d_model).toBe(8);
    expect(['timestamp-query', 'wall-clock']).toContain(result.timing);
    for (const p of result.points) {
      expect(p.mamba_fwd_bwd_ms).toBeGreaterThanOrEqual(0);
      expect(p.attention_fwd_bwd_ms).toBeGreaterThanOrEqual(0);
      expect(p.mamba_bytes).toBeGreaterThan(0);
      // The naive block stores the (n_head, l, l) scores that the tiled one never writes.
      expect(p.attention_naive_bytes).toBeGreaterThan(p.attention_bytes!);
    }
    expect(result.slopes.mamba_bytes).not.toBeNull();

    // Decoding: Mamba's state has one size at every context length, and attention's cache contains the keys and values of every token.
    const [short, long] = result.points;
    expect(short.mamba_decode_ms_per_token).toBeGreaterThanOrEqual(0);
    expect(long.attention_decode_ms_per_token).toBeGreaterThanOrEqual(0);
    expect(short.mamba_decode_state_bytes).toBeGreaterThan(0);
    expect(long.mamba_decode_state_bytes).toBe(short.mamba_decode_state_bytes);
    expect(short.attention_decode_cache_bytes).toBe(2 * 16 * 8 * 4);
    expect(long.attention_decode_cache_bytes).toBe(2 * 32 * 8 * 4);
  });

  it('pauses training before measuring', async () => {
    const trainer = new Trainer({ gpu: () => nodeGpu, metricsIntervalMs: 0, probeIntervalMs: 1e9 });
    await trainer.configure(tinyRun());
    await trainer.start();
    await trainer.benchMemorySpeed({ ...request, lengths: [16] });
    expect(trainer.currentStatus).toBe('paused');
  });

  it('rejects without WebGPU and says why', async () => {
    const trainer = new Trainer({ gpu: () => undefined });
    await expect(trainer.benchMemorySpeed(request)).rejects.toThrow(/memory and speed sweep needs WebGPU.*navigator\.gpu is missing/);
  });

  it('rejects an n_head that does not divide d_model', async () => {
    const trainer = new Trainer({ gpu: () => nodeGpu });
    await expect(trainer.benchMemorySpeed({ ...request, n_head: 3 })).rejects.toThrow('n_head = 3 does not divide d_model = 8');
  });
});
