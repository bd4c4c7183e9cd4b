/**
 * Wiring between the studio slice and the world outside it: the runs, final weights
 * and checkpoints stored in IndexedDB, and the run queue's events from the worker.
 */
import { studioRunsFromLink } from '../studio/compareLink';
import { StudioDb } from '../studio/db';
import { RunSaver } from '../studio/saver';
import { QUEUE_MODES, type QueueEvent, type QueueMode } from '../studio/queueProtocol';
import { subscribeToQueue } from '../trainerClient';
import { useAppStore } from './index';
import { errorMessage } from './runSlice';
import { setWeightsDb } from './studioWeights';

export { loadStudioWeights } from './studioWeights';

export interface StudioSyncOptions {
  /** IndexedDB database name; tests use one of their own. */
  dbName?: string;
  /** Wait before writing a change that only adds metrics, in milliseconds. */
  saveDelayMs?: number;
  /** Query string that may hold a comparison link; location.search in a page. */
  search?: string;
}

let studioDb: StudioDb | null = null;

/** localStorage key of the queue mode, which a reload keeps. */
export const QUEUE_MODE_KEY = 'mamba-playground-queue-mode';

/**
 * Restores the queue mode saved by an earlier page and saves each change. Without
 * localStorage, as under Node or where storage is blocked, the mode is not kept.
 * Returns a function that stops saving.
 */
function keepQueueMode(): () => void {
  const store = useAppStore;
  let storage: Storage;
  try {
    if (typeof localStorage === 'undefined') return () => {};
    storage = localStorage;
    const saved = storage.getItem(QUEUE_MODE_KEY);
    if (saved !== null && (QUEUE_MODES as readonly string[]).includes(saved) && saved !== store.getState().queueMode) {
      void store.getState().setQueueMode(saved as QueueMode);
    }
  } catch {
    return () => {};
  }
  return store.subscribe(
    (state) => state.queueMode,
    (mode) => {
      try {
        storage.setItem(QUEUE_MODE_KEY, mode);
      } catch {
        // A full or blocked storage only loses the choice of mode.
      }
    },
  );
}

/** Writes a queue event's weights or checkpoint to IndexedDB, and deletes a checkpoint that no longer applies. */
function storeQueueEvent(db: StudioDb, event: QueueEvent): void {
  const store = useAppStore;
  const findRun = (id: string) => store.getState().studioRuns.find((run) => run.id === id);
  // Weights and checkpoints of a run deleted meanwhile are dropped.
  if (event.type === 'run-weights' && findRun(event.runId)) {
    const weights = { id: event.runId, step: event.step, params: event.params, savedAt: Date.now() };
    db.putWeights(weights).catch((error: unknown) => {
      store.getState().reportStudioError(`Saving the final weights of a run failed: ${errorMessage(error)}`);
    });
  }
  if (event.type === 'run-checkpoint' && findRun(event.runId)) {
    const { runId, checkpoint } = event;
    // The run's record names the checkpoint's step, and is written with the checkpoint.
    store.getState().setCheckpointStep(runId, checkpoint.step);
    const runs = store.getState().studioRuns;
    const position = runs.findIndex((run) => run.id === runId);
    db.putCheckpoint(runId, checkpoint, { run: runs[position], position, writeProbe: true })
      .catch((error: unknown) => {
        store.getState().reportStudioError(
          `Saving the progress of a run at step ${checkpoint.step} failed, so a reload would lose it: ${errorMessage(error)}`,
        );
      });
  }
  const restarted = event.type === 'run-engine' && event.step === 0;
  const finished = event.type === 'run-status' && event.status === 'done';
  if (restarted || finished) {
    db.deleteCheckpoint(event.runId).catch((error: unknown) => {
      store.getState().reportStudioError(`Deleting the saved progress of a run failed: ${errorMessage(error)}`);
    });
  }
}

/**
 * Restores the stored runs into the store, then keeps IndexedDB in step with the list
 * and applies the queue's events. Where IndexedDB fails, the studio works without it
 * and shows why. Resolves to a function that stops the syncing and writes what is left.
 */
export async function startStudioSync(options: StudioSyncOptions = {}): Promise<() => Promise<void>> {
  const store = useAppStore;
  // Read before the first await: once the stored runs are in, the URL mirrors the list and may drop the link's runs.
  const search = options.search ?? (typeof window === 'undefined' ? '' : window.location.search);
  let saver: RunSaver | null = null;
  try {
    const db = await StudioDb.open(options.dbName);
    const stored = await db.loadRuns();
    store.getState().restoreStudioRuns(stored);
    store.getState().setStudioStorage('saved');
    studioDb = db;
    setWeightsDb(db);
    saver = new RunSaver(db, stored, {
      delayMs: options.saveDelayMs,
      onError: (message) => store.getState().reportStudioError(message),
    });
    // Runs added while the stored ones loaded are written now.
    saver.update(store.getState().studioRuns);
  } catch (error) {
    store.getState().setStudioStorage('unavailable');
    store.getState().reportStudioError(`Runs are kept only until this page closes, because opening IndexedDB failed: ${errorMessage(error)}`);
  }

  // Runs of a comparison link join the list once the stored ones are back, so a reload does not add them twice.
  const linked = studioRunsFromLink(search);
  if (linked) store.getState().importLinkedRuns(linked.runs, linked.messages);

  const stopSaving = saver ? store.subscribe((state) => state.studioRuns, (runs) => saver.update(runs)) : () => {};
  const stopSavingMode = keepQueueMode();

  try {
    await subscribeToQueue((event) => {
      if (studioDb) storeQueueEvent(studioDb, event);
      store.getState().applyQueueEvent(event);
    });
  } catch (error) {
    store.getState().reportStudioError(`Connecting to the run queue failed: ${errorMessage(error)}`);
  }

  return async () => {
    stopSaving();
    stopSavingMode();
    await saver?.flush();
  };
}
