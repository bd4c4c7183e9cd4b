/**
 * The studio slice: the ablation studio's runs, their order and status, and the run
 * queue that trains them in the worker. Adding runs checks each config with the Train
 * view's rules. The list is stored in IndexedDB by studioSync, not here.
 */
import type { StateCreator } from 'zustand';
import type { EnginePreference, RunConfig } from '../protocol';
import { copyName, defaultRunName, uniqueName } from '../studio/differences';
import type { ExtrapolationPoint } from '../studio/evaluate';
import { findStudioGrid, gridStudioRuns } from '../studio/grids';
import type { QueueEvent, QueueMode, QueueRunSpec, QueueState } from '../studio/queueProtocol';
import {
  applyChange, changeErrors, formatKeyValue, gridConfigs, newStudioRun, queuedRunErrors, readKey,
  type RunChange, type RunKey,
} from '../studio/runs';
import { startsWithQueue, type StudioRun } from '../studio/types';
import { getRunQueue } from '../trainerClient';
import { loadStudioCheckpoint } from './studioWeights';
import { errorMessage } from './runSlice';
import type { AppState, AppMiddleware } from './types';

/** The runs an action added, or the messages that kept every run out. */
export type AddRunsResult = { ok: true; runs: StudioRun[] } | { ok: false; errors: string[] };

/** State of the list's storage: 'loading' until the stored runs are read, 'unavailable' when IndexedDB failed. */
export type StudioStorage = 'loading' | 'saved' | 'unavailable';

export interface StudioSlice {
  studioRuns: StudioRun[];
  queueMode: QueueMode;
  queueState: QueueState;
  /** Reason the queue last stopped, such as "training started in the Train view"; null otherwise. */
  queueMessage: string | null;
  /**
   * Ids of runs whose engine and optimizer state are in the worker now. A paused run
   * not listed, such as one restored after a reload, resumes from its checkpoint, or
   * trains again from step 0 when it has none.
   */
  liveRunIds: string[];
  studioStorage: StudioStorage;
  /** A failed call to the queue or a failed write to IndexedDB, shown above the list. */
  studioError: string | null;

  /** Puts the stored runs first, before any run added while they loaded. */
  restoreStudioRuns(runs: StudioRun[]): void;
  /** Problems found in the opening comparison link, naming the run, the field and the value. */
  compareLinkMessages: string[];
  /**
   * Adds the runs of a comparison link, queued, after the stored ones. A run whose name
   * and config equal a listed run's is already there, as after a reload, and is skipped.
   */
  importLinkedRuns(runs: StudioRun[], messages: string[]): void;
  setStudioStorage(storage: StudioStorage): void;
  /** Shows a failure above the list, such as a failed write to IndexedDB. */
  reportStudioError(message: string): void;
  /** Adds a run with this config, which needs max_steps > 0. */
  addStudioRun(config: RunConfig, name?: string): AddRunsResult;
  /** Adds a copy of a run with one field or choice changed, right after the run. */
  duplicateStudioRun(id: string, change: RunChange): AddRunsResult;
  /** Adds one run per value of one field or choice over `base`, such as "1, 2, 4" for d_state; all or none. */
  addStudioGrid(base: RunConfig, key: RunKey, valuesText: string): AddRunsResult;
  /**
   * Adds every run of a grid preset (src/studio/grids.ts) by its name, queued on
   * `engine`, with the grid's name and the paper's results; all or none.
   */
  addGridRuns(gridName: string, engine: EnginePreference): AddRunsResult;
  /** Stores one evaluated test length on a run, in place of any earlier point at that length, in length order. */
  saveExtrapolationPoint(id: string, point: ExtrapolationPoint): void;
  removeStudioRun(id: string): Promise<void>;
  /** Renames a run; an empty name is ignored. */
  renameStudioRun(id: string, name: string): void;
  /** Moves a run to a zero-based index in the list. */
  moveStudioRun(id: string, index: number): void;
  setQueueMode(mode: QueueMode): Promise<void>;
  /** Trains every queued run and every paused run that its own Pause did not hold, in list order; pauses live training in the Train view. */
  startQueue(): Promise<void>;
  pauseQueue(): Promise<void>;
  /** Pauses one run and marks it held: the queue goes on with the others, and Start queue skips it until resumeStudioRun. */
  pauseStudioRun(id: string): Promise<void>;
  /** Queues a paused or failed run again; it trains once the queue runs. */
  resumeStudioRun(id: string): Promise<void>;
  applyQueueEvent(event: QueueEvent): void;
  /** Records the step of a run's checkpoint once it is stored in IndexedDB, or null once it is deleted. */
  setCheckpointStep(id: string, step: number | null): void;
  dismissStudioError(): void;
  resetStudio(): void;
}

const initialStudio = {
  studioRuns: [] as StudioRun[],
  compareLinkMessages: [] as string[],
  queueMode: 'sequential' as QueueMode,
  queueState: 'idle' as QueueState,
  queueMessage: null,
  liveRunIds: [] as string[],
  studioStorage: 'loading' as StudioStorage,
  studioError: null,
};

function spec(run: StudioRun): QueueRunSpec {
  return { id: run.id, config: run.config };
}

/**
 * Returns the queue's spec for a run, with its saved checkpoint when the run has one and
 * is not in the worker, such as a paused or queued run after a reload. Without a stored
 * checkpoint, the run starts from step 0.
 */
async function resumableSpec(run: StudioRun, live: readonly string[]): Promise<QueueRunSpec> {
  if (run.checkpointStep === null || live.includes(run.id)) return spec(run);
  const checkpoint = await loadStudioCheckpoint(run.id);
  return checkpoint ? { ...spec(run), checkpoint } : spec(run);
}

export const createStudioSlice: StateCreator<AppState, AppMiddleware, [], StudioSlice> = (set, get) => {
  /** Replaces one run's record; does nothing when the run was removed. */
  const updateRun = (id: string, change: (run: StudioRun) => StudioRun) => {
    const runs = get().studioRuns;
    const index = runs.findIndex((run) => run.id === id);
    if (index < 0) return;
    const next = [...runs];
    next[index] = change(runs[index]);
    set({ studioRuns: next });
  };
  const setLive = (id: string, live: boolean) => {
    const ids = get().liveRunIds.filter((liveId) => liveId !== id);
    set({ liveRunIds: live ? [...ids, id] : ids });
  };
  /** Runs a queue call and shows its failure above the list. */
  const callQueue = async (call: () => Promise<void>) => {
    try {
      await call();
    } catch (error) {
      set({ studioError: `The run queue failed: ${errorMessage(error)}` });
    }
  };
  /** Inserts new runs into the list; while the queue trains, it takes them in their place in the list. */
  const insertRuns = (runs: StudioRun[], at: number) => {
    const list = [...get().studioRuns];
    list.splice(at, 0, ...runs);
    set({ studioRuns: list });
    if (get().queueState !== 'running') return;
    void callQueue(async () => {
      const queue = getRunQueue();
      await queue.enqueue(runs.map(spec));
      await queue.setOrder(get().studioRuns.map((run) => run.id));
    });
  };

  return {
    ...initialStudio,

    importLinkedRuns(linked, messages) {
      const listed = new Set(get().studioRuns.map((run) => JSON.stringify([run.name, run.config])));
      const fresh: StudioRun[] = [];
      const problems = [...messages];
      for (const run of linked) {
        if (listed.has(JSON.stringify([run.name, run.config]))) continue;
        const errors = queuedRunErrors(run.config);
        if (errors.length > 0) problems.push(`Run "${run.name}" from the link was not added: ${errors.join('; ')}`);
        else fresh.push(run);
      }
      set({ compareLinkMessages: problems });
      if (fresh.length > 0) insertRuns(fresh, get().studioRuns.length);
    },

    restoreStudioRuns(runs) {
      const ids = new Set(runs.map((run) => run.id));
      set({ studioRuns: [...runs, ...get().studioRuns.filter((run) => !ids.has(run.id))] });
    },

    setStudioStorage(studioStorage) {
      set({ studioStorage });
    },

    reportStudioError(message) {
      set({ studioError: message });
    },

    addStudioRun(config, name) {
      const errors = queuedRunErrors(config);
      if (errors.length > 0) return { ok: false, errors };
      const run = newStudioRun(config, name ?? defaultRunName(config, get().studioRuns));
      insertRuns([run], get().studioRuns.length);
      return { ok: true, runs: [run] };
    },

    duplicateStudioRun(id, change) {
      const runs = get().studioRuns;
      const index = runs.findIndex((run) => run.id === id);
      if (index < 0) return { ok: false, errors: [`run ${id} is not in the list: it may have been deleted`] };
      const source = runs[index].config;
      const applied = applyChange(source, change);
      if ('error' in applied) return { ok: false, errors: [applied.error] };
      if (readKey(source, change.key) === change.value) {
        const value = formatKeyValue(change.key, change.value);
        return { ok: false, errors: [`${change.key} is already ${value} in ${runs[index].name}: choose another value`] };
      }
      const errors = changeErrors(change, applied.config);
      if (errors.length > 0) return { ok: false, errors };

      // Named by the change: alone for a copy of the first run, in the source's name otherwise.
      const changeText = `${change.key} = ${formatKeyValue(change.key, change.value)}`;
      const name = index === 0 ? uniqueName(changeText, runs) : copyName(runs[index].name, change.key, changeText, applied.config, runs);
      const run = newStudioRun(applied.config, name);
      insertRuns([run], index + 1);
      return { ok: true, runs: [run] };
    },

    addStudioGrid(base, key, valuesText) {
      const grid = gridConfigs(base, key, valuesText);
      if ('errors' in grid) return { ok: false, errors: grid.errors };
      const added = grid.points.map(({ value, config }) => newStudioRun(config, `${key} = ${formatKeyValue(key, value)}`));
      insertRuns(added, get().studioRuns.length);
      return { ok: true, runs: added };
    },

    addGridRuns(gridName, engine) {
      const grid = findStudioGrid(gridName);
      if (!grid) return { ok: false, errors: [`grid "${gridName}" is not known: choose one of the listed grids`] };
      const runs = gridStudioRuns(grid, engine);
      const errors = runs.flatMap((run) => queuedRunErrors(run.config).map((message) => `${run.name}: ${message}`));
      if (errors.length > 0) return { ok: false, errors };
      insertRuns(runs, get().studioRuns.length);
      return { ok: true, runs };
    },

    saveExtrapolationPoint(id, point) {
      updateRun(id, (run) => {
        const others = (run.extrapolation ?? []).filter((p) => p.length !== point.length);
        return { ...run, extrapolation: [...others, point].sort((a, b) => a.length - b.length) };
      });
    },

    async removeStudioRun(id) {
      if (!get().studioRuns.some((run) => run.id === id)) return;
      set({ studioRuns: get().studioRuns.filter((run) => run.id !== id) });
      setLive(id, false);
      await callQueue(() => getRunQueue().cancelRun(id));
    },

    renameStudioRun(id, name) {
      const trimmed = name.trim();
      if (trimmed === '') return;
      updateRun(id, (run) => (run.name === trimmed ? run : { ...run, name: trimmed }));
    },

    moveStudioRun(id, index) {
      const runs = get().studioRuns;
      const from = runs.findIndex((run) => run.id === id);
      if (from < 0) return;
      const to = Math.max(0, Math.min(runs.length - 1, index));
      if (to === from) return;
      const next = [...runs];
      const [run] = next.splice(from, 1);
      next.splice(to, 0, run);
      set({ studioRuns: next });
      void callQueue(() => getRunQueue().setOrder(next.map((r) => r.id)));
    },

    async setQueueMode(mode) {
      set({ queueMode: mode });
      await callQueue(() => getRunQueue().setMode(mode));
    },

    async startQueue() {
      // A run paused by its own Pause stays paused until its Resume.
      const waiting = get().studioRuns.filter(startsWithQueue);
      if (waiting.length === 0) return;
      // Paused runs wait their turn as queued; the queue's events set 'running' as each starts.
      const ids = new Set(waiting.map((run) => run.id));
      set({
        studioError: null,
        queueMessage: null,
        studioRuns: get().studioRuns.map((run) => (ids.has(run.id) && run.status === 'paused' ? { ...run, status: 'queued' } : run)),
      });
      const live = get().liveRunIds;
      await callQueue(async () => {
        const specs = await Promise.all(waiting.map((run) => resumableSpec(run, live)));
        const queue = getRunQueue();
        await queue.setMode(get().queueMode);
        await queue.enqueue(specs);
        await queue.setOrder(get().studioRuns.map((run) => run.id));
        await queue.start();
      });
    },

    async pauseQueue() {
      await callQueue(() => getRunQueue().pause());
    },

    async pauseStudioRun(id) {
      // A queued run that has not started is not in the worker, so it is paused here.
      updateRun(id, (run) => ({ ...run, onHold: true, status: run.status === 'queued' ? 'paused' : run.status }));
      await callQueue(() => getRunQueue().pauseRun(id));
    },

    async resumeStudioRun(id) {
      const run = get().studioRuns.find((r) => r.id === id);
      if (!run || (run.status !== 'paused' && run.status !== 'error')) return;
      const live = get().liveRunIds;
      // A failed run trains again from step 0, so its checkpoint no longer applies.
      const retry = run.status === 'error';
      updateRun(id, (r) => ({ ...r, status: 'queued', message: null, onHold: false, checkpointStep: retry ? null : r.checkpointStep }));
      await callQueue(async () => {
        const queued = retry ? spec(run) : await resumableSpec(run, live);
        const queue = getRunQueue();
        await queue.enqueue([queued]);
        await queue.setOrder(get().studioRuns.map((r) => r.id));
      });
    },

    applyQueueEvent(event) {
      switch (event.type) {
        case 'queue':
          set({ queueState: event.state, queueMessage: event.message });
          break;
        case 'run-engine':
          // Fresh weights at step 0 drop the history of an earlier attempt. A run resumed from
          // its checkpoint keeps the history up to the checkpoint's step, where it goes on.
          setLive(event.runId, true);
          updateRun(event.runId, (run) => ({
            ...run,
            step: event.step,
            metrics: run.metrics.filter((metric) => metric.step <= event.step),
            probe: run.probe && run.probe.step <= event.step ? run.probe : null,
            extrapolation: null,
            elapsedMs: event.elapsedMs,
            message: null,
            engine: event.info.description,
            parameterCount: event.info.parameterCount,
            checkpointStep: event.step > 0 ? event.step : null,
          }));
          break;
        case 'run-status':
          if (event.status === 'done' || event.status === 'error') setLive(event.runId, false);
          updateRun(event.runId, (run) => ({
            ...run,
            status: event.status,
            message: event.status === 'error' ? event.message : null,
            // studioSync deletes a finished run's checkpoint.
            checkpointStep: event.status === 'done' ? null : run.checkpointStep,
          }));
          break;
        case 'run-metrics': {
          const { step, loss, accuracy, elapsedMs, tokensPerSecond } = event.metrics;
          updateRun(event.runId, (run) => ({
            ...run,
            step,
            elapsedMs,
            metrics: [...run.metrics, { step, loss, accuracy, elapsedMs, tokensPerSecond }],
          }));
          break;
        }
        case 'run-probe':
          updateRun(event.runId, (run) => ({ ...run, probe: event.probe }));
          break;
        case 'run-cancelled':
          setLive(event.runId, false);
          updateRun(event.runId, (run) => (run.status === 'done' || run.status === 'error' ? run : { ...run, status: 'paused' }));
          break;
        case 'run-weights':
        case 'run-checkpoint':
          // studioSync stores these in IndexedDB; the store keeps no copy.
          break;
      }
    },

    setCheckpointStep(id, step) {
      updateRun(id, (run) => (run.checkpointStep === step ? run : { ...run, checkpointStep: step }));
    },

    dismissStudioError() {
      set({ studioError: null });
    },

    resetStudio() {
      set(initialStudio);
    },
  };
};
