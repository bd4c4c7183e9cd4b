import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { afterEach, describe, expect, it } from 'vitest';
import { findPreset } from '../presets';
import type { ProbeEvent, RunConfig } from '../protocol';
import { StudioDb } from './db';
import { newStudioRun } from './runs';
import { RunSaver } from './saver';
import type { StudioRun } from './types';

let dbCount = 0;
const opened: StudioDb[] = [];

/** Opens a fresh database per test, so that tests do not see each other's runs. */
async function openFresh(name = `studio-test-${++dbCount}`): Promise<{ db: StudioDb; name: string }> {
  const db = await StudioDb.open(name);
  opened.push(db);
  return { db, name };
}

async function reopen(name: string): Promise<StudioDb> {
  const db = await StudioDb.open(name);
  opened.push(db);
  return db;
}

afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

function tinyConfig(maxSteps = 20): RunConfig {
  return { ...structuredClone(findPreset('e2e-tiny')!.run), engine: 'cpu', max_steps: maxSteps };
}

function probeAt(step: number): ProbeEvent {
  return {
    type: 'probe',
    step,
    architecture: 'mamba',
    tokens: [1, 2, 3],
    roles: ['noise', 'data', 'marker'],
    delta: [new Float32Array([0.5, 0.25, 0.125])],
    states: [new Float32Array([1, -1, 2, -2])],
    attention: [],
    predictions: [0, 1, 2],
    d_inner: 1,
    d_state: 1,
    n_head: 0,
  };
}

function trainedRun(name: string, status: StudioRun['status']): StudioRun {
  return {
    ...newStudioRun(tinyConfig(), name, `id-${name}`, 1000),
    status,
    step: 12,
    metrics: [
      { step: 6, loss: 1.5, accuracy: 0.25, elapsedMs: 30, tokensPerSecond: 2000 },
      { step: 12, loss: 1.25, accuracy: 0.5, elapsedMs: 60, tokensPerSecond: 2100 },
    ],
    probe: probeAt(12),
    engine: 'CPU',
    elapsedMs: 60,
    // An unfinished run's progress is saved at its last step; a finished run has no checkpoint.
    checkpointStep: status === 'done' || status === 'error' ? null : 12,
  };
}

describe('StudioDb', () => {
  it('round-trips runs in list order', async () => {
    const { db, name } = await openFresh();
    const first = trainedRun('first', 'done');
    const second = trainedRun('second', 'queued');
    await db.putRuns([
      { run: second, position: 1, writeProbe: true },
      { run: first, position: 0, writeProbe: true },
    ]);
    db.close();

    const loaded = await (await reopen(name)).loadRuns();
    expect(loaded.map((run) => run.name)).toEqual(['first', 'second']);
    expect(loaded[0]).toEqual(first);
    expect(loaded[0].probe!.delta[0]).toBeInstanceOf(Float32Array);
    expect(Array.from(loaded[0].probe!.states[0])).toEqual([1, -1, 2, -2]);
    expect(loaded[0].metrics).toEqual(first.metrics);
  });

  it('restores a running run as paused', async () => {
    const { db, name } = await openFresh();
    await db.putRuns([
      { run: trainedRun('training', 'running'), position: 0, writeProbe: true },
      { run: trainedRun('finished', 'done'), position: 1, writeProbe: true },
      { run: trainedRun('failed', 'error'), position: 2, writeProbe: true },
    ]);
    db.close();

    const loaded = await (await reopen(name)).loadRuns();
    expect(loaded.map((run) => run.status)).toEqual(['paused', 'done', 'error']);
    // Its checkpoint is at its last step, so all its progress stays.
    expect(loaded[0].step).toBe(12);
    expect(loaded[0].metrics).toHaveLength(2);
  });

  it('restores unfinished run at checkpoint', async () => {
    const { db, name } = await openFresh();
    await db.putRuns([
      { run: { ...trainedRun('saved at 6', 'running'), checkpointStep: 6 }, position: 0, writeProbe: true },
      { run: { ...trainedRun('never saved', 'queued'), checkpointStep: null }, position: 1, writeProbe: true },
    ]);
    db.close();

    const [saved, unsaved] = await (await reopen(name)).loadRuns();
    expect(saved).toMatchObject({ status: 'paused', step: 6, elapsedMs: 30, checkpointStep: 6, probe: null });
    expect(saved.metrics.map((metric) => metric.step)).toEqual([6]);
    expect(unsaved).toMatchObject({ status: 'queued', step: 0, elapsedMs: 0, checkpointStep: null, metrics: [], probe: null });
  });

  it('keeps the probe when only the run changes', async () => {
    const { db } = await openFresh();
    const run = trainedRun('a', 'paused');
    await db.putRuns([{ run, position: 0, writeProbe: true }]);
    await db.putRuns([{ run: { ...run, probe: null, name: 'renamed' }, position: 0, writeProbe: false }]);
    const [loaded] = await db.loadRuns();
    expect(loaded.name).toBe('renamed');
    expect(loaded.probe!.step).toBe(12);
  });

  it('round-trips grid runs with their points', async () => {
    const { db, name } = await openFresh();
    const run: StudioRun = {
      ...trainedRun('mamba', 'done'),
      grid: 'induction-extrapolation-small',
      paperAccuracy: 1,
      paperRow: 'Mamba',
      paperCurve: [
        { length: 64, accuracy: 1 },
        { length: 32768, accuracy: null },
      ],
      extrapolation: [
        { length: 64, accuracy: 0.75, status: 'ok', method: 'recurrent', samples: 8, seconds: 0.5 },
        { length: 128, accuracy: null, status: 'positions beyond max_len', method: null, samples: 0, seconds: 0 },
      ],
    };
    await db.putRuns([{ run, position: 0, writeProbe: true }]);
    db.close();
    const [loaded] = await (await reopen(name)).loadRuns();
    expect(loaded).toEqual(run);
  });

  it('loads a run stored before grids', async () => {
    const { db, name } = await openFresh();
    db.close();
    // The record as the first stored version wrote it: no grid, paper or extrapolation fields.
    const { probe, paperAccuracy, paperRow, grid, paperCurve, extrapolation, checkpointStep, ...old } = trainedRun('old', 'done');
    expect([probe?.step, paperAccuracy, paperRow, grid, paperCurve, extrapolation, checkpointStep]).toEqual([
      12, null, null, null, null, null, null,
    ]);
    const raw = await openDB(name);
    await raw.put('runs', { id: old.id, position: 0, run: old });
    raw.close();

    const [loaded] = await (await reopen(name)).loadRuns();
    expect(loaded.name).toBe('old');
    expect(loaded.metrics).toEqual(old.metrics);
    expect(loaded.probe).toBeNull();
    expect(loaded.grid).toBeNull();
    expect(loaded.paperAccuracy).toBeNull();
    expect(loaded.paperRow).toBeNull();
    expect(loaded.paperCurve).toBeNull();
    expect(loaded.extrapolation).toBeNull();
    expect(Object.keys(loaded).sort()).toEqual(Object.keys(trainedRun('old', 'done')).sort());
  });

  it('stores weights apart and deletes them with the run', async () => {
    const { db } = await openFresh();
    const run = trainedRun('a', 'done');
    await db.putRuns([{ run, position: 0, writeProbe: true }]);
    const params = Float32Array.from({ length: 100 }, (_, i) => i / 7);
    await db.putWeights({ id: run.id, step: 20, params, savedAt: 5 });

    const weights = await db.loadWeights(run.id);
    expect(weights!.step).toBe(20);
    expect(weights!.params).toBeInstanceOf(Float32Array);
    expect(Array.from(weights!.params)).toEqual(Array.from(params));

    await db.deleteRuns([run.id]);
    expect(await db.loadRuns()).toEqual([]);
    expect(await db.loadWeights(run.id)).toBeUndefined();
  });

  it('stores, replaces and deletes checkpoints', async () => {
    const { db } = await openFresh();
    const run = { ...trainedRun('a', 'paused'), checkpointStep: 12 };
    await db.putRuns([{ run, position: 0, writeProbe: true }]);
    const state = (scale: number) => Float32Array.from({ length: 50 }, (_, i) => i * scale);
    const checkpoint = (step: number) => ({ step, elapsedMs: 60, dataRngState: 123456789, params: state(step), m: state(0.5), v: state(0.25) });
    await db.putCheckpoint(run.id, checkpoint(6));
    await db.putCheckpoint(run.id, checkpoint(12));

    const loaded = await db.loadCheckpoint(run.id);
    expect(loaded!.step).toBe(12);
    expect(loaded!.dataRngState).toBe(123456789);
    expect(loaded!.params).toBeInstanceOf(Float32Array);
    expect(Array.from(loaded!.params)).toEqual(Array.from(state(12)));
    expect(Array.from(loaded!.v)).toEqual(Array.from(state(0.25)));
    expect((await db.loadRuns())[0].checkpointStep).toBe(12);

    await db.deleteCheckpoint(run.id);
    expect(await db.loadCheckpoint(run.id)).toBeUndefined();

    // With the run's record, both land in one transaction.
    const later = { ...run, step: 18, checkpointStep: 18, probe: probeAt(18) };
    await db.putCheckpoint(run.id, checkpoint(18), { run: later, position: 0, writeProbe: true });
    expect((await db.loadCheckpoint(run.id))!.step).toBe(18);
    const [stored] = await db.loadRuns();
    expect(stored).toMatchObject({ step: 18, checkpointStep: 18 });
    expect(stored.probe!.step).toBe(18);
    await db.putCheckpoint(run.id, checkpoint(12));
    await db.deleteRuns([run.id]);
    expect(await db.loadCheckpoint(run.id)).toBeUndefined();
  });

  it('upgrades version 1 database', async () => {
    const name = `studio-test-${++dbCount}`;
    const first = await openDB(name, 1, {
      upgrade(database) {
        for (const store of ['runs', 'probes', 'weights']) database.createObjectStore(store, { keyPath: 'id' });
      },
    });
    const { probe, checkpointStep, ...old } = trainedRun('old', 'paused');
    expect([probe?.step, checkpointStep]).toEqual([12, 12]);
    await first.put('runs', { id: old.id, position: 0, run: old });
    first.close();

    const db = await reopen(name);
    const [loaded] = await db.loadRuns();
    // Without a checkpoint, the paused run resumes from step 0, so it comes back there.
    expect(loaded).toMatchObject({ name: 'old', status: 'paused', step: 0, checkpointStep: null, metrics: [] });
    expect(await db.loadCheckpoint(old.id)).toBeUndefined();
  });
});

describe('RunSaver', () => {
  it('writes new runs at once and metrics later', async () => {
    const { db, name } = await openFresh();
    const saver = new RunSaver(db, [], { delayMs: 60_000 });
    // A checkpoint at step 5 exists, so the stored metrics up to step 5 come back after a reload.
    const run = { ...newStudioRun(tinyConfig(), 'a', 'id-a', 1), checkpointStep: 5 };
    saver.update([run]);
    await saver.flush();
    expect((await (await reopen(name)).loadRuns()).map((r) => r.id)).toEqual(['id-a']);

    // A metrics-only change waits for the delay, so nothing new is stored yet.
    const withMetrics: StudioRun = {
      ...run,
      step: 5,
      metrics: [{ step: 5, loss: 1, accuracy: 0, elapsedMs: 9, tokensPerSecond: 1 }],
    };
    saver.update([withMetrics]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await db.loadRuns())[0].step).toBe(0);

    await saver.flush();
    expect((await db.loadRuns())[0].step).toBe(5);
  });

  it('writes a status change at once', async () => {
    const { db } = await openFresh();
    const run = newStudioRun(tinyConfig(), 'a', 'id-a', 1);
    const saver = new RunSaver(db, [], { delayMs: 60_000 });
    saver.update([run]);
    saver.update([{ ...run, status: 'done' }]);
    // Both writes start without a flush; the delay only gives IndexedDB time to finish them.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await db.loadRuns())[0].status).toBe('done');
  });

  it('writes a checkpoint step at once', async () => {
    const { db } = await openFresh();
    const run = { ...newStudioRun(tinyConfig(), 'a', 'id-a', 1), status: 'running' as const };
    const saver = new RunSaver(db, [], { delayMs: 60_000 });
    saver.update([run]);
    saver.update([{ ...run, step: 8, checkpointStep: 8 }]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await db.loadRuns())[0]).toMatchObject({ step: 8, checkpointStep: 8 });
  });

  it('writes an extrapolation point at once', async () => {
    const { db } = await openFresh();
    const run = { ...newStudioRun(tinyConfig(), 'a', 'id-a', 1), status: 'done' as const };
    const saver = new RunSaver(db, [], { delayMs: 60_000 });
    saver.update([run]);
    await saver.flush();
    const point = { length: 64, accuracy: 0.5, status: 'ok', method: 'recurrent', samples: 8, seconds: 2 } as const;
    saver.update([{ ...run, extrapolation: [point] }]);
    // No flush: the write starts at once, and the delay gives IndexedDB time to finish it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await db.loadRuns())[0].extrapolation).toEqual([point]);
  });

  it('deletes removed runs and stores the new order', async () => {
    const { db } = await openFresh();
    const a = newStudioRun(tinyConfig(), 'a', 'id-a', 1);
    const b = newStudioRun(tinyConfig(), 'b', 'id-b', 2);
    const c = newStudioRun(tinyConfig(), 'c', 'id-c', 3);
    const saver = new RunSaver(db, [], { delayMs: 60_000 });
    saver.update([a, b, c]);
    await saver.flush();
    await db.putWeights({ id: 'id-b', step: 20, params: new Float32Array(4), savedAt: 1 });

    saver.update([c, a]);
    await saver.flush();
    expect((await db.loadRuns()).map((run) => run.name)).toEqual(['c', 'a']);
    expect(await db.loadWeights('id-b')).toBeUndefined();
  });

  it('reports a failed write and retries', async () => {
    const { db } = await openFresh();
    const messages: string[] = [];
    const saver = new RunSaver(db, [], { delayMs: 60_000, onError: (message) => messages.push(message) });
    db.close();
    saver.update([newStudioRun(tinyConfig(), 'a', 'id-a', 1)]);
    await saver.flush();
    // The write that update starts fails, and the flush tries the same runs again.
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatch(/^Saving the runs in IndexedDB failed: /);
    expect(messages[1]).toBe(messages[0]);
  });
});
