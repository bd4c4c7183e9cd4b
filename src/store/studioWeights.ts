/**
 * The studio's final weights and checkpoints in IndexedDB, read by the store's
 * actions. studioSync opens the database and hands it over here, so that actions can
 * read them without importing the sync module, which imports the store.
 */
import type { TrainingCheckpoint } from '../protocol';
import type { StoredWeights, StudioDb } from '../studio/db';

let weightsDb: StudioDb | null = null;

/** Sets the open database, or null when IndexedDB is unavailable. */
export function setWeightsDb(db: StudioDb | null): void {
  weightsDb = db;
}

/** Returns a finished run's final weights from IndexedDB, or undefined when none are stored or storage is unavailable. */
export async function loadStudioWeights(id: string): Promise<StoredWeights | undefined> {
  return weightsDb?.loadWeights(id);
}

/** Returns a run's saved progress, or undefined when none is stored or storage is unavailable. */
export async function loadStudioCheckpoint(id: string): Promise<TrainingCheckpoint | undefined> {
  return weightsDb?.loadCheckpoint(id);
}
