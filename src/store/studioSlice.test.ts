import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { EngineInfo, MetricsEvent, RunConfig } from '../protocol';
import { COMPARE_PARAM, encodeCompareLink, studioRunsFromLink } from '../studio/compareLink';
import type { QueueEvent, QueueMode, QueueRunSpec } from '../studio/queueProtocol';

// The store reaches the worker only through trainerClient, so the tests replace the run queue with a fake.
const queue = {
  enqueue: vi.fn<(runs: QueueRunSpec[]) => Promise<void>>(),
  setOrder: vi.fn<(ids: string[]) => Promise<void>>(),
  setMode: vi.fn<(mode: QueueMode) => Promise<void>>(),
  start: vi.fn<() => Promise<void>>(),
  pause: vi.fn<() => Promise<void>>(),
  pauseRun: vi.fn<(id: string) => Promise<void>>(),
  cancelRun: vi.fn<(id: string) => Promise<void>>(),
};
let queueListener: ((event: QueueEvent) => void) | null = null;

vi.mock('../trainerClient', () => ({
  getTrainer: () => ({}),
  getRunQueue: () => queue,
  subscribeToTrainer: async () => {},
  subscribeToQueue: async (listener: (event: QueueEvent) => void) => {
    queueListener = listener;
  },
  onWorkerFailure: () => () => {},
}));

const { resetStore, useAppStore } = await import('./index');
const { startStudioSync, loadStudioWeights } = await import('./studioSync');
const { findPreset } = await import('../presets');

function tinyConfig(maxSteps = 20): RunConfig {
  return { ...structuredClone(findPreset('e2e-tiny')!.run), engine: 'cpu', max_steps: maxSteps };
}

const state = () => useAppStore.getState();

function addTiny(maxSteps = 20) {
  const result = state().addStudioRun(tinyConfig(maxSteps));
  if (!result.ok) throw new Error(result.errors.join('; '));
  return result.runs[0];
}

function metricsAt(step: number, elapsedMs: number): MetricsEvent {
  return { type: 'metrics', step, loss: 1.5, accuracy: 0.25, msPerStep: 1, stepsPerSecond: 1000, tokensPerSecond: 96_000, elapsedMs };
}

const cpuInfo: EngineInfo = { kind: 'cpu', description: 'CPU', fallbackReason: null, parameterCount: 1234 };

beforeEach(() => {
  resetStore();
  queueListener = null;
  for (const fn of Object.values(queue)) fn.mockReset().mockResolvedValue();
});

describe('studio slice adding runs', () => {
  it('adds a run and names it by preset', () => {
    const run = addTiny();
    expect(state().studioRuns).toEqual([run]);
    expect(run.name).toBe('e2e-tiny');
    expect(run.status).toBe('queued');
  });

  it('rejects a run without max_steps', () => {
    const result = state().addStudioRun(tinyConfig(0));
    expect(result).toEqual({ ok: false, errors: ['steps per run (max_steps) = 0 is invalid for a queued run: use an integer from 1 to 10000000, such as 2000'] });
    expect(state().studioRuns).toEqual([]);
  });

  it('grid adds one named run per value', () => {
    const result = state().addStudioGrid(tinyConfig(), 'd_state', '1, 2, 4, 8, 16');
    expect(result.ok).toBe(true);
    expect(state().studioRuns.map((run) => run.name)).toEqual(['d_state = 1', 'd_state = 2', 'd_state = 4', 'd_state = 8', 'd_state = 16']);
    expect(state().studioRuns.map((run) => (run.config.model as { d_state: number }).d_state)).toEqual([1, 2, 4, 8, 16]);
    expect(new Set(state().studioRuns.map((run) => run.id)).size).toBe(5);
  });

  it('grid with a bad value adds nothing', () => {
    addTiny();
    const result = state().addStudioGrid(tinyConfig(), 'd_state', '1, 2, 65');
    expect(result).toEqual({ ok: false, errors: ['d_state = 65 is out of range: use an integer from 1 to 64, such as 16'] });
    expect(state().studioRuns).toHaveLength(1);
  });

  it('grid over a choice names by label', () => {
    state().addStudioGrid(tinyConfig(), 'selective_delta', 'true, false');
    expect(state().studioRuns.map((run) => run.name)).toEqual(['selective_delta = input-dependent (S6)', 'selective_delta = fixed (S4)']);
  });

  it('duplicate changes one field after its source', () => {
    const first = addTiny();
    const last = addTiny();
    const result = state().duplicateStudioRun(first.id, { key: 'd_state', value: 1 });
    if (!result.ok) throw new Error(result.errors.join('; '));
    const copy = result.runs[0];
    expect(state().studioRuns.map((run) => run.id)).toEqual([first.id, copy.id, last.id]);
    expect(copy.name).toBe('d_state = 1');
    expect(copy.config).toEqual({ ...first.config, model: { ...first.config.model, d_state: 1 } });
    expect(copy.status).toBe('queued');
  });

  it('duplicate changes a choice', () => {
    const first = addTiny();
    const result = state().duplicateStudioRun(first.id, { key: 'architecture', value: 'transformer' });
    if (!result.ok) throw new Error(result.errors.join('; '));
    expect(result.runs[0].config.model.architecture).toBe('transformer');
    expect(result.runs[0].name).toBe('architecture = Transformer (attention baseline)');
  });

  it('names copy of later run', () => {
    addTiny();
    const second = addTiny();
    state().renameStudioRun(second.id, 'Mamba');
    const result = state().duplicateStudioRun(second.id, { key: 'd_state', value: 2 });
    if (!result.ok) throw new Error(result.errors.join('; '));
    expect(result.runs[0].name).toBe('Mamba, d_state = 2');
    expect(state().studioRuns.map((run) => run.name)).toEqual(['e2e-tiny', 'Mamba', 'Mamba, d_state = 2']);
  });

  it('duplicate rejects an invalid value', () => {
    const first = addTiny();
    const result = state().duplicateStudioRun(first.id, { key: 'learning_rate', value: -1 });
    expect(result.ok).toBe(false);
    expect((result as { errors: string[] }).errors[0]).toMatch(/^learning_rate = -1 is out of range/);
    expect(state().studioRuns).toHaveLength(1);
  });

  it('duplicate rejects an unchanged value', () => {
    const first = addTiny();
    expect(state().duplicateStudioRun(first.id, { key: 'selective_delta', value: true })).toEqual({
      ok: false,
      errors: ['selective_delta is already input-dependent (S6) in e2e-tiny: choose another value'],
    });
    expect(state().studioRuns).toHaveLength(1);
  });

  it('duplicate of a deleted run fails', () => {
    expect(state().duplicateStudioRun('gone', { key: 'd_state', value: 1 })).toEqual({
      ok: false,
      errors: ['run gone is not in the list: it may have been deleted'],
    });
  });
});

describe('studio slice list actions', () => {
  it('renames and ignores empty names', () => {
    const run = addTiny();
    state().renameStudioRun(run.id, '  baseline  ');
    expect(state().studioRuns[0].name).toBe('baseline');
    state().renameStudioRun(run.id, '   ');
    expect(state().studioRuns[0].name).toBe('baseline');
  });

  it('moves a run and reorders the queue', () => {
    const a = addTiny();
    const b = addTiny();
    const c = addTiny();
    state().moveStudioRun(c.id, 0);
    expect(state().studioRuns.map((run) => run.id)).toEqual([c.id, a.id, b.id]);
    expect(queue.setOrder).toHaveBeenCalledWith([c.id, a.id, b.id]);
  });

  it('remove cancels the run in the queue', async () => {
    const a = addTiny();
    const b = addTiny();
    await state().removeStudioRun(a.id);
    expect(state().studioRuns.map((run) => run.id)).toEqual([b.id]);
    expect(queue.cancelRun).toHaveBeenCalledWith(a.id);
  });

  it('start enqueues waiting runs in order', async () => {
    const a = addTiny();
    const b = addTiny(30);
    const done = addTiny();
    state().applyQueueEvent({ type: 'run-status', runId: done.id, status: 'done', message: 'reached max_steps = 20' });
    state().applyQueueEvent({ type: 'run-status', runId: b.id, status: 'paused', message: null });
    await state().setQueueMode('interleaved');
    await state().startQueue();

    expect(queue.setMode).toHaveBeenLastCalledWith('interleaved');
    expect(queue.enqueue).toHaveBeenCalledWith([
      { id: a.id, config: a.config },
      { id: b.id, config: b.config },
    ]);
    expect(queue.setOrder).toHaveBeenLastCalledWith([a.id, b.id, done.id]);
    expect(queue.start).toHaveBeenCalledTimes(1);
    expect(state().studioRuns.map((run) => run.status)).toEqual(['queued', 'queued', 'done']);
  });

  it('a running queue takes new runs', async () => {
    const a = addTiny();
    state().applyQueueEvent({ type: 'queue', state: 'running', message: null });
    const result = state().duplicateStudioRun(a.id, { key: 'd_state', value: 2 });
    if (!result.ok) throw new Error(result.errors.join('; '));
    const copy = result.runs[0];
    await vi.waitFor(() => expect(queue.setOrder).toHaveBeenCalledWith([a.id, copy.id]));
    expect(queue.enqueue).toHaveBeenCalledWith([{ id: copy.id, config: copy.config }]);
  });

  it('an idle queue waits for Start', () => {
    addTiny();
    expect(queue.enqueue).not.toHaveBeenCalled();
  });

  it('shows a failed queue call', async () => {
    addTiny();
    queue.start.mockRejectedValue(new Error('worker gone'));
    await state().startQueue();
    expect(state().studioError).toBe('The run queue failed: worker gone');
  });

  it('pause holds a queued run here', async () => {
    const a = addTiny();
    await state().pauseStudioRun(a.id);
    expect(state().studioRuns[0].status).toBe('paused');
    expect(queue.pauseRun).toHaveBeenCalledWith(a.id);

    await state().resumeStudioRun(a.id);
    expect(state().studioRuns[0].status).toBe('queued');
    expect(queue.enqueue).toHaveBeenCalledWith([{ id: a.id, config: a.config }]);
  });

  it('start skips a held run', async () => {
    const a = addTiny();
    const b = addTiny();
    const c = addTiny();
    await state().pauseStudioRun(b.id);
    expect(state().studioRuns[1]).toMatchObject({ status: 'paused', onHold: true });
    // A run paused by the queue's own pause is not held.
    state().applyQueueEvent({ type: 'run-status', runId: c.id, status: 'paused', message: null });
    expect(state().studioRuns[2]).toMatchObject({ status: 'paused', onHold: false });

    await state().startQueue();
    expect(queue.enqueue.mock.calls[0][0].map((s) => s.id)).toEqual([a.id, c.id]);
    expect(state().studioRuns.map((run) => run.status)).toEqual(['queued', 'paused', 'queued']);

    await state().resumeStudioRun(b.id);
    expect(state().studioRuns[1]).toMatchObject({ status: 'queued', onHold: false });
  });
});

describe('studio slice queue events', () => {
  it('tracks a run through training', () => {
    const a = addTiny();
    state().applyQueueEvent({ type: 'queue', state: 'running', message: null });
    state().applyQueueEvent({ type: 'run-engine', runId: a.id, info: cpuInfo, step: 0, elapsedMs: 0 });
    state().applyQueueEvent({ type: 'run-status', runId: a.id, status: 'running', message: null });
    state().applyQueueEvent({ type: 'run-metrics', runId: a.id, metrics: metricsAt(10, 25) });
    state().applyQueueEvent({ type: 'run-metrics', runId: a.id, metrics: metricsAt(20, 45) });

    let run = state().studioRuns[0];
    expect(state().queueState).toBe('running');
    expect(state().liveRunIds).toEqual([a.id]);
    expect(run).toMatchObject({ status: 'running', step: 20, elapsedMs: 45, engine: 'CPU', parameterCount: 1234 });
    expect(run.metrics).toEqual([
      { step: 10, loss: 1.5, accuracy: 0.25, elapsedMs: 25, tokensPerSecond: 96_000 },
      { step: 20, loss: 1.5, accuracy: 0.25, elapsedMs: 45, tokensPerSecond: 96_000 },
    ]);

    state().applyQueueEvent({ type: 'run-status', runId: a.id, status: 'done', message: 'reached max_steps = 20' });
    run = state().studioRuns[0];
    expect(run.status).toBe('done');
    expect(run.message).toBeNull();
    expect(state().liveRunIds).toEqual([]);
  });

  it('a new engine clears the earlier attempt', () => {
    const a = addTiny();
    state().applyQueueEvent({ type: 'run-metrics', runId: a.id, metrics: metricsAt(10, 25) });
    state().applyQueueEvent({ type: 'run-engine', runId: a.id, info: cpuInfo, step: 0, elapsedMs: 0 });
    expect(state().studioRuns[0]).toMatchObject({ step: 0, metrics: [], elapsedMs: 0, probe: null });
  });

  it('resumed engine keeps earlier history', () => {
    const a = addTiny();
    for (const [step, ms] of [[10, 25], [20, 45], [30, 70]]) {
      state().applyQueueEvent({ type: 'run-metrics', runId: a.id, metrics: metricsAt(step, ms) });
    }
    state().applyQueueEvent({ type: 'run-status', runId: a.id, status: 'paused', message: null });
    state().applyQueueEvent({ type: 'run-engine', runId: a.id, info: cpuInfo, step: 20, elapsedMs: 45 });
    const run = state().studioRuns[0];
    expect(run).toMatchObject({ step: 20, elapsedMs: 45, checkpointStep: 20, engine: 'CPU' });
    expect(run.metrics.map((m) => m.step)).toEqual([10, 20]);
    expect(state().liveRunIds).toEqual([a.id]);
  });

  it('finished run drops checkpoint step', () => {
    const a = addTiny();
    state().setCheckpointStep(a.id, 10);
    expect(state().studioRuns[0].checkpointStep).toBe(10);
    state().applyQueueEvent({ type: 'run-status', runId: a.id, status: 'done', message: 'reached max_steps = 20' });
    expect(state().studioRuns[0].checkpointStep).toBeNull();
  });

  it('records the error text', () => {
    const a = addTiny();
    state().applyQueueEvent({ type: 'run-status', runId: a.id, status: 'error', message: 'GPU error: device lost' });
    expect(state().studioRuns[0]).toMatchObject({ status: 'error', message: 'GPU error: device lost' });
  });

  it('a cancelled run becomes paused', () => {
    const a = addTiny();
    state().applyQueueEvent({ type: 'run-engine', runId: a.id, info: cpuInfo, step: 0, elapsedMs: 0 });
    state().applyQueueEvent({ type: 'run-cancelled', runId: a.id, step: 4 });
    expect(state().studioRuns[0].status).toBe('paused');
    expect(state().liveRunIds).toEqual([]);
  });

  it('ignores events of deleted runs', () => {
    const a = addTiny();
    const before = state().studioRuns;
    state().applyQueueEvent({ type: 'run-status', runId: 'gone', status: 'done', message: null });
    expect(state().studioRuns).toBe(before);
    expect(state().studioRuns[0].id).toBe(a.id);
  });
});

let dbCount = 0;

describe('studio sync with IndexedDB', () => {
  it('reload restores runs, running ones paused', async () => {
    const dbName = `studio-sync-${++dbCount}`;
    const stop = await startStudioSync({ dbName, saveDelayMs: 60_000 });
    expect(state().studioStorage).toBe('saved');
    const a = addTiny();
    const b = addTiny();
    queueListener!({ type: 'run-engine', runId: a.id, info: cpuInfo, step: 0, elapsedMs: 0 });
    queueListener!({ type: 'run-status', runId: a.id, status: 'running', message: null });
    queueListener!({ type: 'run-metrics', runId: a.id, metrics: metricsAt(10, 25) });
    queueListener!({ type: 'run-status', runId: b.id, status: 'done', message: null });
    const params = Float32Array.from([0.5, -1, 2]);
    queueListener!({ type: 'run-weights', runId: b.id, step: 20, params });
    await stop();

    // A new page: the store starts empty and reads the database.
    resetStore();
    const stopAgain = await startStudioSync({ dbName, saveDelayMs: 60_000 });
    const runs = state().studioRuns;
    expect(runs.map((run) => run.id)).toEqual([a.id, b.id]);
    // Nothing of run a's progress was saved, so it comes back at step 0, where it will restart.
    expect(runs[0]).toMatchObject({ status: 'paused', step: 0, engine: 'CPU' });
    expect(runs[0].metrics).toHaveLength(0);
    expect(runs[1].status).toBe('done');
    expect(state().liveRunIds).toEqual([]);
    await vi.waitFor(async () => expect(Array.from((await loadStudioWeights(b.id))!.params)).toEqual([0.5, -1, 2]));
    await stopAgain();
  });

  it('reloaded run resumes from checkpoint', async () => {
    const dbName = `studio-sync-${++dbCount}`;
    const stop = await startStudioSync({ dbName, saveDelayMs: 60_000 });
    const a = addTiny();
    const b = addTiny();
    queueListener!({ type: 'run-engine', runId: a.id, info: cpuInfo, step: 0, elapsedMs: 0 });
    queueListener!({ type: 'run-status', runId: a.id, status: 'running', message: null });
    queueListener!({ type: 'run-metrics', runId: a.id, metrics: metricsAt(10, 25) });
    const floats = (x: number) => Float32Array.from([x, x + 1, x + 2]);
    const checkpoint = { step: 10, elapsedMs: 25, dataRngState: 99, params: floats(1), m: floats(2), v: floats(3) };
    queueListener!({ type: 'run-checkpoint', runId: a.id, checkpoint });
    await vi.waitFor(() => expect(state().studioRuns[0].checkpointStep).toBe(10));
    queueListener!({ type: 'run-metrics', runId: a.id, metrics: metricsAt(14, 35) });
    // Run b restarted from step 0 after a checkpoint: the stale checkpoint is deleted.
    queueListener!({ type: 'run-metrics', runId: b.id, metrics: metricsAt(10, 25) });
    queueListener!({ type: 'run-checkpoint', runId: b.id, checkpoint });
    await vi.waitFor(() => expect(state().studioRuns[1].checkpointStep).toBe(10));
    queueListener!({ type: 'run-engine', runId: b.id, info: cpuInfo, step: 0, elapsedMs: 0 });
    expect(state().studioRuns[1].checkpointStep).toBeNull();
    queueListener!({ type: 'run-status', runId: b.id, status: 'paused', message: null });
    await stop();

    resetStore();
    const stopAgain = await startStudioSync({ dbName, saveDelayMs: 60_000 });
    // The metrics after the checkpoint are dropped: resuming trains those steps again.
    expect(state().studioRuns[0]).toMatchObject({ status: 'paused', step: 10, checkpointStep: 10 });
    expect(state().studioRuns[0].metrics.map((metric) => metric.step)).toEqual([10]);
    expect(state().studioRuns[1]).toMatchObject({ status: 'paused', checkpointStep: null });
    await state().resumeStudioRun(a.id);
    await state().resumeStudioRun(b.id);
    const [[[specA]], [[specB]]] = queue.enqueue.mock.calls;
    expect(specA.id).toBe(a.id);
    expect(specA.checkpoint).toMatchObject({ step: 10, elapsedMs: 25, dataRngState: 99 });
    expect(Array.from(specA.checkpoint!.m)).toEqual([2, 3, 4]);
    expect(specB).toEqual({ id: b.id, config: b.config });
    await stopAgain();

    // Resumed but not started, then reloaded again: the queued run still starts from its checkpoint.
    resetStore();
    queue.enqueue.mockClear();
    const stopThird = await startStudioSync({ dbName, saveDelayMs: 60_000 });
    expect(state().studioRuns[0]).toMatchObject({ status: 'queued', step: 10, checkpointStep: 10 });
    await state().startQueue();
    const [[started]] = queue.enqueue.mock.calls;
    expect(started.find((s) => s.id === a.id)!.checkpoint).toMatchObject({ step: 10 });
    expect(started.find((s) => s.id === b.id)!.checkpoint).toBeUndefined();
    await stopThird();
  });

  it('keeps queue mode across reloads', async () => {
    const items = new Map<string, string>([['mamba-playground-queue-mode', 'interleaved']]);
    vi.stubGlobal('localStorage', {
      getItem: (key: string) => items.get(key) ?? null,
      setItem: (key: string, value: string) => void items.set(key, value),
    });
    try {
      const stop = await startStudioSync({ dbName: `studio-sync-${++dbCount}`, saveDelayMs: 60_000 });
      expect(state().queueMode).toBe('interleaved');
      expect(queue.setMode).toHaveBeenCalledWith('interleaved');
      await state().setQueueMode('sequential');
      expect(items.get('mamba-playground-queue-mode')).toBe('sequential');
      await stop();
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('ignores unknown saved queue mode', async () => {
    vi.stubGlobal('localStorage', { getItem: () => 'sideways', setItem: () => {} });
    try {
      const stop = await startStudioSync({ dbName: `studio-sync-${++dbCount}`, saveDelayMs: 60_000 });
      expect(state().queueMode).toBe('sequential');
      expect(queue.setMode).not.toHaveBeenCalled();
      await stop();
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('adds the runs of a comparison link once', async () => {
    const dbName = `studio-sync-${++dbCount}`;
    const small = { ...tinyConfig(), model: { ...tinyConfig().model, d_state: 2 } } as RunConfig;
    const link = `?${COMPARE_PARAM}=${encodeCompareLink([{ config: tinyConfig(), name: 'base' }, { config: small, name: 'small state' }])}`;
    const stop = await startStudioSync({ dbName, saveDelayMs: 0, search: link });
    expect(state().studioRuns.map((run) => [run.name, run.status])).toEqual([['base', 'queued'], ['small state', 'queued']]);
    expect(state().studioRuns[1].config).toEqual(small);
    expect(state().compareLinkMessages).toEqual([]);
    await stop();

    // Reopening the same link after a reload finds both runs stored and adds nothing.
    resetStore();
    const stopAgain = await startStudioSync({ dbName, saveDelayMs: 0, search: link });
    expect(state().studioRuns.map((run) => run.name)).toEqual(['base', 'small state']);
    await stopAgain();
  });

  it('stores grid runs with their points', async () => {
    const dbName = `studio-sync-${++dbCount}`;
    const stop = await startStudioSync({ dbName, saveDelayMs: 60_000 });
    const added = state().addGridRuns('e2e-extrapolation-tiny', 'cpu');
    if (!added.ok) throw new Error(added.errors.join('; '));
    const [mamba] = added.runs;
    const points = [
      { length: 16, accuracy: 0.5, status: 'ok', method: 'recurrent', samples: 8, seconds: 0.25 },
      { length: 32, accuracy: 0.625, status: 'ok', method: 'recurrent', samples: 8, seconds: 0.5 },
    ] as const;
    for (const point of points) state().saveExtrapolationPoint(mamba.id, point);
    await stop();

    resetStore();
    const stopAgain = await startStudioSync({ dbName, saveDelayMs: 60_000 });
    const [restored, attention] = state().studioRuns;
    expect(restored.grid).toBe('e2e-extrapolation-tiny');
    expect(restored.paperCurve).toEqual(mamba.paperCurve);
    expect(restored.extrapolation).toEqual(points);
    expect(attention.extrapolation).toBeNull();
    await stopAgain();
  });

  it('a grid link after a reload adds nothing', async () => {
    const dbName = `studio-sync-${++dbCount}`;
    const added = state().addGridRuns('paper-table1-small', 'cpu');
    if (!added.ok) throw new Error(added.errors.join('; '));
    const link = `?${COMPARE_PARAM}=${encodeCompareLink(added.runs.map((run) => ({ config: run.config, name: run.name, grid: run.grid })))}`;
    resetStore();
    const stop = await startStudioSync({ dbName, saveDelayMs: 0, search: link });
    expect(state().studioRuns.map((run) => run.paperAccuracy)).toEqual(added.runs.map((run) => run.paperAccuracy));
    await stop();

    resetStore();
    const stopAgain = await startStudioSync({ dbName, saveDelayMs: 0, search: link });
    expect(state().studioRuns.map((run) => run.name)).toEqual(added.runs.map((run) => run.name));
    expect(state().compareLinkMessages).toEqual([]);
    await stopAgain();
  });

  it('reports link runs that cannot be queued', () => {
    const endless = { ...tinyConfig(), max_steps: 0 };
    const linked = studioRunsFromLink(`?${COMPARE_PARAM}=${encodeCompareLink([{ config: endless, name: 'endless' }])}`)!;
    state().importLinkedRuns(linked.runs, linked.messages);
    expect(state().studioRuns).toEqual([]);
    expect(state().compareLinkMessages).toHaveLength(1);
    expect(state().compareLinkMessages[0]).toMatch(/^Run "endless" from the link was not added: .*max_steps/);
  });

  it('deleting a run removes it from storage', async () => {
    const dbName = `studio-sync-${++dbCount}`;
    const stop = await startStudioSync({ dbName, saveDelayMs: 60_000 });
    const a = addTiny();
    const b = addTiny();
    await state().removeStudioRun(a.id);
    await stop();

    resetStore();
    const stopAgain = await startStudioSync({ dbName });
    expect(state().studioRuns.map((run) => run.id)).toEqual([b.id]);
    await stopAgain();
  });
});
