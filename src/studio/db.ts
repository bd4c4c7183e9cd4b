/**
 * The studio's runs in IndexedDB, through the `idb` package, so that a reload brings
 * them back. There are three object stores, each keyed by run id. `runs` contains the
 * config, metrics, status and list position. `probes` contains the latest probe, written
 * only when it changes, because its state tensors are the largest part of a run.
 * `weights` contains a finished run's final parameters. `checkpoints` contains an
 * unfinished run's last saved progress (weights, optimizer state, step and data
 * stream), from which a paused run resumes after a reload.
 *
 * NOTE: two tabs open on the studio write the same database, and the last write wins.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { ProbeEvent, TrainingCheckpoint } from '../protocol';
import type { StudioRun } from './types';

export const STUDIO_DB_NAME = 'mamba-playground-studio';
/** Version 2 added the checkpoints store. */
const STUDIO_DB_VERSION = 2;

/** Fields of StudioRun added after the first stored version; a run stored before them lacks them. */
type AddedRunFields = 'paperAccuracy' | 'paperRow' | 'grid' | 'paperCurve' | 'extrapolation' | 'checkpointStep' | 'onHold';

/** A run as an older version of the app may have stored it: without its probe, and maybe without the added fields. */
export type StoredRunRecord = Omit<StudioRun, 'probe' | AddedRunFields> & Partial<Pick<StudioRun, AddedRunFields>>;

/** A run without its probe, and its place in the list. */
export interface StoredRun {
  id: string;
  position: number;
  run: StoredRunRecord;
}

export interface StoredProbe {
  id: string;
  probe: ProbeEvent;
}

/** A finished run's final weights in the flat layout of buildModelLayout, padding included. */
export interface StoredWeights {
  id: string;
  /** Step the weights were read at, the run's max_steps. */
  step: number;
  params: Float32Array;
  /** Milliseconds since the epoch. */
  savedAt: number;
}

/** An unfinished run's progress, as the run queue sent it. */
export interface StoredCheckpoint {
  id: string;
  checkpoint: TrainingCheckpoint;
  /** Milliseconds since the epoch. */
  savedAt: number;
}

interface StudioSchema extends DBSchema {
  runs: { key: string; value: StoredRun };
  probes: { key: string; value: StoredProbe };
  weights: { key: string; value: StoredWeights };
  checkpoints: { key: string; value: StoredCheckpoint };
}

/** A run to write, with its place in the list and whether its probe changed since the last write. */
export interface RunWrite {
  run: StudioRun;
  position: number;
  writeProbe: boolean;
}

/**
 * Returns the run as it comes back after a reload. A run that was training when the page
 * closed comes back 'paused'. An unfinished run comes back at the step it will resume
 * from: its checkpoint's (checkpointStep), or step 0 when it has none, with the metrics
 * and probe after that step dropped, because training them again gives the same values.
 * A field that an older version did not store reads as null.
 */
export function restoredRun(stored: StoredRunRecord & Pick<StudioRun, 'probe'>): StudioRun {
  const run: StudioRun = {
    ...stored,
    paperAccuracy: stored.paperAccuracy ?? null,
    paperRow: stored.paperRow ?? null,
    grid: stored.grid ?? null,
    paperCurve: stored.paperCurve ?? null,
    extrapolation: stored.extrapolation ?? null,
    checkpointStep: stored.checkpointStep ?? null,
    onHold: stored.onHold ?? false,
  };
  if (run.status === 'done' || run.status === 'error') return run;
  const status = run.status === 'running' ? 'paused' : run.status;
  const step = run.checkpointStep ?? 0;
  if (run.step <= step) return { ...run, status };
  const metrics = run.metrics.filter((metric) => metric.step <= step);
  return {
    ...run,
    status,
    step,
    metrics,
    elapsedMs: metrics.at(-1)?.elapsedMs ?? 0,
    probe: run.probe && run.probe.step <= step ? run.probe : null,
  };
}

export class StudioDb {
  private constructor(private readonly db: IDBPDatabase<StudioSchema>) {}

  /** Opens (and on first use creates) the database; rejects where IndexedDB is unavailable, as in some private windows. */
  static async open(name = STUDIO_DB_NAME): Promise<StudioDb> {
    if (typeof indexedDB === 'undefined') throw new Error('IndexedDB is not available in this browser');
    const db = await openDB<StudioSchema>(name, STUDIO_DB_VERSION, {
      upgrade(database, oldVersion) {
        if (oldVersion < 1) {
          database.createObjectStore('runs', { keyPath: 'id' });
          database.createObjectStore('probes', { keyPath: 'id' });
          database.createObjectStore('weights', { keyPath: 'id' });
        }
        if (oldVersion < 2) database.createObjectStore('checkpoints', { keyPath: 'id' });
      },
      // A newer version of the app in another tab needs this connection closed to upgrade.
      blocking() {
        db.close();
      },
    });
    return new StudioDb(db);
  }

  /** Returns the stored runs in list order with their probes, each as restoredRun returns it. */
  async loadRuns(): Promise<StudioRun[]> {
    const transaction = this.db.transaction(['runs', 'probes'], 'readonly');
    const [stored, probes] = await Promise.all([transaction.objectStore('runs').getAll(), transaction.objectStore('probes').getAll()]);
    await transaction.done;
    const probeById = new Map(probes.map((p) => [p.id, p.probe]));
    return stored
      .sort((a, b) => a.position - b.position)
      .map((record) => restoredRun({ ...record.run, probe: probeById.get(record.id) ?? null }));
  }

  /** Writes runs and their positions in one transaction, and each probe that changed. */
  async putRuns(writes: readonly RunWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const transaction = this.db.transaction(['runs', 'probes'], 'readwrite');
    const runs = transaction.objectStore('runs');
    const probes = transaction.objectStore('probes');
    const requests: Promise<unknown>[] = [];
    for (const { run, position, writeProbe } of writes) {
      const { probe, ...rest } = run;
      requests.push(runs.put({ id: run.id, position, run: rest }));
      if (!writeProbe) continue;
      requests.push(probe ? probes.put({ id: run.id, probe }) : probes.delete(run.id));
    }
    await Promise.all([...requests, transaction.done]);
  }

  /** Deletes runs with their probes, weights and checkpoints. */
  async deleteRuns(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const transaction = this.db.transaction(['runs', 'probes', 'weights', 'checkpoints'], 'readwrite');
    const requests = ids.flatMap((id) => [
      transaction.objectStore('runs').delete(id),
      transaction.objectStore('probes').delete(id),
      transaction.objectStore('weights').delete(id),
      transaction.objectStore('checkpoints').delete(id),
    ]);
    await Promise.all([...requests, transaction.done]);
  }

  async putWeights(weights: StoredWeights): Promise<void> {
    await this.db.put('weights', weights);
  }

  /** Returns a finished run's final weights, or undefined when none are stored. */
  async loadWeights(id: string): Promise<StoredWeights | undefined> {
    return this.db.get('weights', id);
  }

  /**
   * Replaces the run's saved progress. With `write`, the run's record (which names the
   * checkpoint's step) and probe are written in the same transaction, so that a reload
   * never finds one without the other.
   */
  async putCheckpoint(id: string, checkpoint: TrainingCheckpoint, write?: RunWrite): Promise<void> {
    const transaction = this.db.transaction(['checkpoints', 'runs', 'probes'], 'readwrite');
    const requests: Promise<unknown>[] = [transaction.objectStore('checkpoints').put({ id, checkpoint, savedAt: Date.now() })];
    if (write) {
      const { probe, ...rest } = write.run;
      requests.push(transaction.objectStore('runs').put({ id, position: write.position, run: rest }));
      if (write.writeProbe && probe) requests.push(transaction.objectStore('probes').put({ id, probe }));
    }
    await Promise.all([...requests, transaction.done]);
  }

  /** Returns the run's saved progress, or undefined when none is stored. */
  async loadCheckpoint(id: string): Promise<TrainingCheckpoint | undefined> {
    return (await this.db.get('checkpoints', id))?.checkpoint;
  }

  async deleteCheckpoint(id: string): Promise<void> {
    await this.db.delete('checkpoints', id);
  }

  close(): void {
    this.db.close();
  }
}
