import { describe, expect, it, vi } from 'vitest';
import { buildModelLayout, resolveModelConfig } from '../src/model/models';
import { findPreset } from '../src/presets';
import type { RunConfig } from '../src/protocol';
import type {
  QueueEvent, QueueRunCancelledEvent, QueueRunCheckpointEvent, QueueRunEngineEvent, QueueRunMetricsEvent, QueueRunProbeEvent,
  QueueRunStatusEvent, QueueRunWeightsEvent,
} from '../src/studio/queueProtocol';
import { createNodeGpu } from '../src/engine/webgpu/node';
import { RunQueue, type RunQueueOptions } from './queue';
import { Trainer } from './trainer';
import { TrainingRun } from './trainingRun';

function tinyRun(overrides: Partial<RunConfig> = {}): RunConfig {
  const preset = findPreset('e2e-tiny');
  if (!preset) throw new Error('preset e2e-tiny not found');
  return { ...structuredClone(preset.run), engine: 'cpu', ...overrides };
}

function withDState(run: RunConfig, dState: number): RunConfig {
  return { ...run, model: { ...run.model, d_state: dState } as RunConfig['model'] };
}

function createQueue(options: Partial<RunQueueOptions> = {}) {
  const queue = new RunQueue({ gpu: () => undefined, readingsPerRun: Infinity, ...options });
  const events: QueueEvent[] = [];
  void queue.subscribe((event) => events.push(event));
  const ofType = <E extends QueueEvent>(type: E['type']) => events.filter((e): e is E => e.type === type);
  return {
    queue,
    events,
    metrics: (runId?: string) => ofType<QueueRunMetricsEvent>('run-metrics').filter((e) => !runId || e.runId === runId),
    statuses: (runId: string) => ofType<QueueRunStatusEvent>('run-status').filter((e) => e.runId === runId).map((e) => e.status),
    statusEvent: (runId: string) => ofType<QueueRunStatusEvent>('run-status').filter((e) => e.runId === runId).at(-1),
    probes: (runId: string) => ofType<QueueRunProbeEvent>('run-probe').filter((e) => e.runId === runId),
    weights: (runId: string) => ofType<QueueRunWeightsEvent>('run-weights').find((e) => e.runId === runId),
    cancelled: () => ofType<QueueRunCancelledEvent>('run-cancelled'),
    checkpoints: (runId: string) => ofType<QueueRunCheckpointEvent>('run-checkpoint').filter((e) => e.runId === runId),
    engines: (runId: string) => ofType<QueueRunEngineEvent>('run-engine').filter((e) => e.runId === runId),
    queueStates: () => events.filter((e) => e.type === 'queue').map((e) => e.state),
  };
}

/** Trains a run alone for `steps` steps and returns its weights, the reference for the queue's results. */
async function trainAlone(run: RunConfig, steps: number): Promise<Float32Array> {
  const training = await TrainingRun.create(run, { gpu: undefined });
  for (let i = 0; i < steps; i++) await training.trainStep(training.nextBatch());
  const params = await training.engine.readParams();
  training.dispose();
  return params;
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Index of the first event that matches, for checking the order of events. */
function indexOf(events: QueueEvent[], match: (event: QueueEvent) => boolean): number {
  const index = events.findIndex(match);
  if (index < 0) throw new Error('no event matches');
  return index;
}

describe('RunQueue sequential', () => {
  it('trains runs one after another', async () => {
    const log = createQueue();
    const a = tinyRun({ max_steps: 5 });
    const b = withDState(tinyRun({ max_steps: 4 }), 2);
    await log.queue.enqueue([{ id: 'a', config: a }, { id: 'b', config: b }]);
    await log.queue.start();
    await log.queue.finished();

    expect(log.statuses('a')).toEqual(['running', 'done']);
    expect(log.statuses('b')).toEqual(['running', 'done']);
    expect(log.statusEvent('a')!.message).toBe('reached max_steps = 5');
    expect(log.metrics('a').map((e) => e.metrics.step)).toEqual([1, 2, 3, 4, 5]);
    expect(log.metrics('b').map((e) => e.metrics.step)).toEqual([1, 2, 3, 4]);
    // Every event of run a comes before run b's engine is built.
    const lastOfA = log.events.findLastIndex((e) => 'runId' in e && e.runId === 'a');
    const firstOfB = indexOf(log.events, (e) => 'runId' in e && e.runId === 'b');
    expect(lastOfA).toBeLessThan(firstOfB);
    expect(log.events[firstOfB].type).toBe('run-engine');
    expect(log.queueStates()).toEqual(['running', 'idle']);
    expect(await log.queue.snapshot()).toEqual([]);
  });

  it('sends probe and weights before done', async () => {
    const log = createQueue();
    const run = tinyRun({ max_steps: 6 });
    await log.queue.enqueue([{ id: 'a', config: run }]);
    await log.queue.start();
    await log.queue.finished();

    const probeAt = indexOf(log.events, (e) => e.type === 'run-probe');
    const weightsAt = indexOf(log.events, (e) => e.type === 'run-weights');
    const doneAt = indexOf(log.events, (e) => e.type === 'run-status' && e.status === 'done');
    expect(probeAt).toBeLessThan(weightsAt);
    expect(weightsAt).toBeLessThan(doneAt);

    const probe = log.probes('a').at(-1)!.probe;
    expect(probe.step).toBe(6);
    expect(probe.tokens).toHaveLength(run.train.seq_len);
    expect(probe.delta).toHaveLength(run.model.n_layer);

    const weights = log.weights('a')!;
    expect(weights.step).toBe(6);
    expect(weights.params).toHaveLength(buildModelLayout(resolveModelConfig(run.model)).totalSize);
    expect(Array.from(weights.params)).toEqual(Array.from(await trainAlone(run, 6)));
  });

  it('reads metrics at evenly spaced steps', async () => {
    const log = createQueue({ readingsPerRun: 4 });
    await log.queue.enqueue([{ id: 'a', config: tinyRun({ max_steps: 18 }) }]);
    await log.queue.start();
    await log.queue.finished();
    // ceil(18 / 4) = 5 steps per reading, and the last step always reads.
    expect(log.metrics('a').map((e) => e.metrics.step)).toEqual([5, 10, 15, 18]);
  });

  it('reports metrics with each run its own time', async () => {
    const log = createQueue({ readingsPerRun: 1 });
    const run = tinyRun({ max_steps: 8 });
    await log.queue.enqueue([{ id: 'a', config: run }]);
    await log.queue.start();
    await log.queue.finished();
    // With a long interval the only read is the one at max_steps, averaging all 8 steps.
    const metrics = log.metrics('a').map((e) => e.metrics);
    expect(metrics).toHaveLength(1);
    expect(metrics[0].step).toBe(8);
    expect(metrics[0].msPerStep).toBeGreaterThan(0);
    expect(metrics[0].elapsedMs).toBeCloseTo(metrics[0].msPerStep * 8, 6);
    expect(metrics[0].tokensPerSecond).toBeCloseTo((8 * run.train.batch_size * run.train.seq_len) / (metrics[0].elapsedMs / 1000), 3);
  });
});

describe('RunQueue interleaved', () => {
  it('takes turns in slices of steps', async () => {
    const log = createQueue({ sliceSteps: 2 });
    await log.queue.setMode('interleaved');
    await log.queue.enqueue([
      { id: 'a', config: tinyRun({ max_steps: 6 }) },
      { id: 'b', config: withDState(tinyRun({ max_steps: 5 }), 2) },
    ]);
    await log.queue.start();
    await log.queue.finished();

    const order = log.metrics().map((e) => `${e.runId}${e.metrics.step}`);
    expect(order).toEqual(['a1', 'a2', 'b1', 'b2', 'a3', 'a4', 'b3', 'b4', 'a5', 'a6', 'b5']);
    expect(log.statuses('a')).toEqual(['running', 'done']);
    expect(log.statuses('b')).toEqual(['running', 'done']);
  });

  it('interleaved runs equal runs trained alone', async () => {
    const log = createQueue({ sliceSteps: 3 });
    await log.queue.setMode('interleaved');
    const a = tinyRun({ max_steps: 7 });
    const b = tinyRun({ max_steps: 7, train: { ...tinyRun().train, seed: 2 } });
    await log.queue.enqueue([{ id: 'a', config: a }, { id: 'b', config: b }]);
    await log.queue.start();
    await log.queue.finished();

    // Each run has its own data stream, so taking turns changes none of its numbers.
    expect(Array.from(log.weights('a')!.params)).toEqual(Array.from(await trainAlone(a, 7)));
    expect(Array.from(log.weights('b')!.params)).toEqual(Array.from(await trainAlone(b, 7)));
    expect(Array.from(log.weights('a')!.params)).not.toEqual(Array.from(log.weights('b')!.params));
  });
});

describe('RunQueue on WebGPU', () => {
  it('interleaves WebGPU and CPU runs', async () => {
    const gpu = await createNodeGpu();
    const log = createQueue({ gpu: () => gpu, sliceSteps: 2 });
    await log.queue.setMode('interleaved');
    const gpuRun = tinyRun({ max_steps: 4, engine: 'webgpu' });
    await log.queue.enqueue([{ id: 'gpu', config: gpuRun }, { id: 'cpu', config: tinyRun({ max_steps: 4 }) }]);
    await log.queue.start();
    await log.queue.finished();

    expect(log.statuses('gpu')).toEqual(['running', 'done']);
    expect(log.statuses('cpu')).toEqual(['running', 'done']);
    const engines = log.events.filter((e) => e.type === 'run-engine').map((e) => e.info.kind);
    expect(engines).toEqual(['webgpu', 'cpu']);
    // Both engines start from the same weights and data. After 4 steps they differ by
    // float32 rounding only: 8.5e-7 at most on SwiftShader, and the bound leaves room for other adapters.
    const gpuParams = log.weights('gpu')!.params;
    const cpuParams = log.weights('cpu')!.params;
    expect(gpuParams).toHaveLength(cpuParams.length);
    let maxDiff = 0;
    for (let i = 0; i < cpuParams.length; i++) maxDiff = Math.max(maxDiff, Math.abs(gpuParams[i] - cpuParams[i]));
    expect(maxDiff).toBeLessThan(1e-4);
  });
});

describe('RunQueue errors', () => {
  it('an invalid run is reported and left out', async () => {
    const log = createQueue();
    const bad = withDState(tinyRun({ max_steps: 5 }), 0);
    await log.queue.enqueue([
      { id: 'bad', config: bad },
      { id: 'unlimited', config: tinyRun({ max_steps: 0 }) },
      { id: 'good', config: tinyRun({ max_steps: 3 }) },
    ]);
    expect(log.statusEvent('bad')).toMatchObject({ status: 'error' });
    expect(log.statusEvent('bad')!.message).toContain('d_state = 0');
    expect(log.statusEvent('unlimited')!.message).toBe('max_steps = 0 is invalid for a queued run: use a positive integer such as 2000');
    expect((await log.queue.snapshot()).map((r) => r.id)).toEqual(['good']);

    await log.queue.start();
    await log.queue.finished();
    expect(log.statuses('good')).toEqual(['running', 'done']);
  });

  it('a run that fails to build does not stop the others', async () => {
    const log = createQueue();
    await log.queue.enqueue([
      { id: 'first', config: tinyRun({ max_steps: 3 }) },
      // Valid, but WebGPU is missing here, so building its engine throws.
      { id: 'gpu', config: tinyRun({ max_steps: 3, engine: 'webgpu' }) },
      { id: 'last', config: tinyRun({ max_steps: 3 }) },
    ]);
    await log.queue.start();
    await log.queue.finished();

    expect(log.statuses('first')).toEqual(['running', 'done']);
    expect(log.statuses('gpu')).toEqual(['error']);
    expect(log.statusEvent('gpu')!.message).toMatch(/WebGPU engine unavailable: .*navigator\.gpu is missing/);
    expect(log.statuses('last')).toEqual(['running', 'done']);
    expect(log.queueStates()).toEqual(['running', 'idle']);
  });

  it('a run that fails while training does not stop the others', async () => {
    const log = createQueue();
    const broken = tinyRun({ max_steps: 50 });
    // The broken run's engine throws on its third step, as a lost device would.
    const trainStep = TrainingRun.prototype.trainStep;
    const spy = vi.spyOn(TrainingRun.prototype, 'trainStep').mockImplementation(async function (this: TrainingRun, batch) {
      if (this.run === broken && this.step === 2) throw new Error('engine step failed');
      return trainStep.call(this, batch);
    });
    try {
      await log.queue.enqueue([{ id: 'broken', config: broken }, { id: 'next', config: tinyRun({ max_steps: 3 }) }]);
      await log.queue.start();
      await log.queue.finished();
    } finally {
      spy.mockRestore();
    }

    expect(log.statuses('broken')).toEqual(['running', 'error']);
    expect(log.statusEvent('broken')!.message).toBe('engine step failed');
    expect(log.metrics('broken').map((e) => e.metrics.step)).toEqual([1, 2]);
    expect(log.statuses('next')).toEqual(['running', 'done']);
  });
});

describe('RunQueue pause and cancel', () => {
  it('pause stops the queue and start resumes it', async () => {
    const log = createQueue();
    const run = tinyRun({ max_steps: 150 });
    await log.queue.enqueue([{ id: 'a', config: run }]);
    await log.queue.start();
    await waitUntil(() => log.metrics('a').length >= 3, 'run a has trained 3 steps');
    await log.queue.pause();

    const pausedAt = log.metrics('a').at(-1)!.metrics.step;
    expect(pausedAt).toBeLessThan(150);
    expect(log.statuses('a')).toEqual(['running', 'paused']);
    expect(log.queueStates()).toEqual(['running', 'paused']);
    expect(log.probes('a').at(-1)!.probe.step).toBe(pausedAt);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await log.queue.snapshot())[0]).toMatchObject({ id: 'a', status: 'paused', step: pausedAt });

    await log.queue.start();
    await log.queue.finished();
    expect(log.statuses('a')).toEqual(['running', 'paused', 'running', 'done']);
    expect(log.metrics('a').at(-1)!.metrics.step).toBe(150);
    // Pausing keeps the engine and the data stream, so the result equals an uninterrupted run.
    expect(Array.from(log.weights('a')!.params)).toEqual(Array.from(await trainAlone(run, 150)));
  });

  it('pauseRun holds one run while the others train', async () => {
    const log = createQueue({ sliceSteps: 2 });
    await log.queue.setMode('interleaved');
    const a = tinyRun({ max_steps: 40 });
    await log.queue.enqueue([{ id: 'a', config: a }, { id: 'b', config: tinyRun({ max_steps: 40 }) }]);
    await log.queue.start();
    await waitUntil(() => log.metrics('a').length >= 2, 'run a has trained 2 steps');
    await log.queue.pauseRun('a');
    const heldAt = (await log.queue.snapshot()).find((r) => r.id === 'a')!.step;
    await log.queue.finished();

    expect(log.statuses('b').at(-1)).toBe('done');
    expect(log.statuses('a')).toEqual(['running', 'paused']);
    expect(log.queueStates()).toEqual(['running', 'idle']);
    expect(await log.queue.snapshot()).toEqual([{ id: 'a', status: 'paused', onHold: true, step: heldAt }]);

    // Enqueuing the onHold run again resumes it from its step.
    await log.queue.enqueue([{ id: 'a', config: a }]);
    expect(log.statuses('a').at(-1)).toBe('queued');
    await log.queue.start();
    await log.queue.finished();
    expect(log.statuses('a')).toEqual(['running', 'paused', 'queued', 'running', 'done']);
    expect(Array.from(log.weights('a')!.params)).toEqual(Array.from(await trainAlone(a, 40)));
  });

  it('cancelRun frees one run and the queue goes on', async () => {
    const log = createQueue();
    await log.queue.enqueue([{ id: 'a', config: tinyRun({ max_steps: 5000 }) }, { id: 'b', config: tinyRun({ max_steps: 3 }) }]);
    await log.queue.start();
    await waitUntil(() => log.metrics('a').length >= 2, 'run a has trained 2 steps');
    await log.queue.cancelRun('a');
    await log.queue.finished();

    const cancelled = log.cancelled();
    expect(cancelled).toHaveLength(1);
    expect(cancelled[0].runId).toBe('a');
    expect(cancelled[0].step).toBeGreaterThanOrEqual(2);
    expect(cancelled[0].step).toBeLessThan(5000);
    expect(log.weights('a')).toBeUndefined();
    expect(log.statuses('b')).toEqual(['running', 'done']);
  });

  it('cancel stops the queue and drops every run', async () => {
    const log = createQueue();
    await log.queue.enqueue([{ id: 'a', config: tinyRun({ max_steps: 5000 }) }, { id: 'b', config: tinyRun({ max_steps: 5000 }) }]);
    await log.queue.start();
    await waitUntil(() => log.metrics('a').length >= 1, 'run a has trained a step');
    await log.queue.cancel();

    expect(log.cancelled().map((e) => e.runId)).toEqual(['a', 'b']);
    expect(log.cancelled()[1].step).toBe(0);
    expect(log.queueStates()).toEqual(['running', 'idle']);
    expect(await log.queue.snapshot()).toEqual([]);

    // A cancelled run enqueued again starts from step 0 with a new engine.
    await log.queue.enqueue([{ id: 'a', config: tinyRun({ max_steps: 2 }) }]);
    await log.queue.start();
    await log.queue.finished();
    expect(log.metrics('a').slice(-2).map((e) => e.metrics.step)).toEqual([1, 2]);
    expect(log.events.filter((e) => e.type === 'run-engine' && e.runId === 'a')).toHaveLength(2);
  });

  it('live training and the queue pause each other', async () => {
    let queue: RunQueue | null = null;
    const trainer = new Trainer({ gpu: () => undefined, beforeStart: () => queue!.pause('training started in the Train view') });
    const log = createQueue({ beforeStart: () => trainer.pause() });
    queue = log.queue;
    await trainer.configure(tinyRun());
    await log.queue.enqueue([{ id: 'a', config: tinyRun({ max_steps: 5000 }) }]);

    await log.queue.start();
    await waitUntil(() => log.metrics('a').length >= 1, 'run a has trained a step');
    await trainer.start();
    expect(log.events.at(-1)).toEqual({ type: 'queue', state: 'paused', message: 'training started in the Train view' });
    expect(trainer.currentStatus).toBe('running');

    await log.queue.start();
    expect(trainer.currentStatus).toBe('paused');
    expect(log.queue.currentState).toBe('running');
    await log.queue.cancel();
    await trainer.dispose();
  });

  it('start with no waiting run stays idle', async () => {
    const log = createQueue();
    await log.queue.start();
    expect(log.queueStates()).toEqual(['idle']);
  });

  it('setMode rejects an unknown mode', async () => {
    const log = createQueue();
    await expect(log.queue.setMode('parallel' as never)).rejects.toThrow('queue mode "parallel" is unknown: use sequential or interleaved');
  });
});

describe('RunQueue checkpoints', () => {
  it('resumes paused run in new queue', async () => {
    const log = createQueue();
    const run = tinyRun({ max_steps: 150 });
    await log.queue.enqueue([{ id: 'a', config: run }]);
    await log.queue.start();
    await waitUntil(() => log.metrics('a').length >= 3, 'run a has trained 3 steps');
    await log.queue.pause();
    const pausedAt = log.metrics('a').at(-1)!.metrics.step;
    const checkpoints = log.checkpoints('a');
    expect(checkpoints.at(-1)!.checkpoint.step).toBe(pausedAt);
    // The checkpoint comes before the paused status, so a page that shows 'paused' has it.
    const checkpointAt = log.events.findLastIndex((e) => e.type === 'run-checkpoint');
    const pausedStatusAt = log.events.findLastIndex((e) => e.type === 'run-status' && e.status === 'paused');
    expect(checkpointAt).toBeLessThan(pausedStatusAt);
    const { checkpoint } = checkpoints.at(-1)!;
    await log.queue.dispose();

    // A new queue, as after a reload, builds the engine from the checkpoint.
    const after = createQueue();
    await after.queue.enqueue([{ id: 'a', config: run, checkpoint }]);
    await after.queue.start();
    await after.queue.finished();
    expect(after.engines('a').map((e) => [e.step, e.elapsedMs])).toEqual([[pausedAt, checkpoint.elapsedMs]]);
    expect(after.metrics('a')[0].metrics.step).toBe(pausedAt + 1);
    expect(after.metrics('a').at(-1)!.metrics.step).toBe(150);
    expect(after.metrics('a')[0].metrics.elapsedMs).toBeGreaterThan(checkpoint.elapsedMs);
    expect(Array.from(after.weights('a')!.params)).toEqual(Array.from(await trainAlone(run, 150)));
  });

  it('checkpoints at metrics reads', async () => {
    const log = createQueue({ readingsPerRun: 5, checkpointIntervalMs: 0 });
    await log.queue.enqueue([{ id: 'a', config: tinyRun({ max_steps: 20 }) }]);
    await log.queue.start();
    await log.queue.finished();
    expect(log.metrics('a').map((e) => e.metrics.step)).toEqual([4, 8, 12, 16, 20]);
    // Every read but the last, where the run is done and its weights are sent instead.
    expect(log.checkpoints('a').map((e) => e.checkpoint.step)).toEqual([4, 8, 12, 16]);
    // A probe at each checkpoint's step, so a reloaded run shows its Δ where it resumes; the last one is the finished run's.
    expect(log.probes('a').map((e) => e.probe.step)).toEqual([4, 8, 12, 16, 20]);

    const quiet = createQueue({ readingsPerRun: 5 });
    await quiet.queue.enqueue([{ id: 'a', config: tinyRun({ max_steps: 20 }) }]);
    await quiet.queue.start();
    await quiet.queue.finished();
    // 20 steps take far less than the default 20 s.
    expect(quiet.checkpoints('a')).toEqual([]);
  });

  it('spaces checkpoints by wall time', async () => {
    let clock = 0;
    const checkpointAt: Record<string, number[]> = {};
    const log = createQueue({ sliceSteps: 2, checkpointIntervalMs: 200, now: () => (clock += 1) });
    void log.queue.subscribe((event) => {
      if (event.type === 'run-checkpoint') (checkpointAt[event.runId] ??= []).push(clock);
    });
    await log.queue.setMode('interleaved');
    const ids = ['a', 'b', 'c'];
    await log.queue.enqueue(ids.map((id) => ({ id, config: tinyRun({ max_steps: 120 }) })));
    await log.queue.start();
    await log.queue.finished();
    for (const id of ids) {
      const times = checkpointAt[id];
      expect(times.length).toBeGreaterThan(2);
      const gaps = times.slice(1).map((t, i) => t - times[i]);
      // Each gap is the interval plus at most one turn of the three runs, not three intervals.
      for (const gap of gaps) {
        expect(gap).toBeGreaterThanOrEqual(200);
        expect(gap).toBeLessThan(400);
      }
    }
  });

  it('fails on an unfitting checkpoint', async () => {
    const log = createQueue();
    const run = tinyRun({ max_steps: 4 });
    const training = await TrainingRun.create(withDState(run, 2), { gpu: undefined });
    const checkpoint = await training.checkpoint();
    training.dispose();
    await log.queue.enqueue([{ id: 'a', config: run, checkpoint }]);
    await log.queue.start();
    await log.queue.finished();
    expect(log.statusEvent('a')).toMatchObject({ status: 'error' });
    expect(log.statusEvent('a')!.message).toMatch(
      /^restoring its saved progress at step 0 failed \(the training state's params has \d+ floats; this model needs \d+: it was saved for another model\): resume it again to train from step 0$/,
    );

    await log.queue.enqueue([{ id: 'a', config: run }]);
    await log.queue.start();
    await log.queue.finished();
    expect(log.statusEvent('a')).toMatchObject({ status: 'done' });
    expect(log.engines('a').map((e) => e.step)).toEqual([0]);
  });

  it('rejects a negative interval', () => {
    expect(() => new RunQueue({ gpu: () => undefined, checkpointIntervalMs: -1 })).toThrow(/checkpointIntervalMs = -1 is invalid/);
  });
});
