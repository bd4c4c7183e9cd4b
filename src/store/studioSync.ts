/**
 * Wiring between the studio slice and the world outside it: the runs and final
 * weights stored in IndexedDB, and the run queue's events from the worker.
 */
import { studioRunsFromLink } from '../studio/compareLink';
import { StudioDb } from '../studio/db';
import { RunSaver } from '../studio/saver';
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

  try {
    await subscribeToQueue((event) => {
      // Weights of a run deleted while it finished are dropped.
      if (event.type === 'run-weights' && studioDb && store.getState().studioRuns.some((run) => run.id === event.runId)) {
        const weights = { id: event.runId, step: event.step, params: event.params, savedAt: Date.now() };
        studioDb.putWeights(weights).catch((error: unknown) => {
          store.getState().reportStudioError(`Saving the final weights of a run failed: ${errorMessage(error)}`);
        });
      }
      store.getState().applyQueueEvent(event);
    });
  } catch (error) {
    store.getState().reportStudioError(`Connecting to the run queue failed: ${errorMessage(error)}`);
  }

  return async () => {
    stopSaving();
    await saver?.flush();
  };
}
