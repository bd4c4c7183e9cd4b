/** Writes the studio's run list to IndexedDB as it changes, with few writes while runs train. */
import type { RunWrite, StudioDb } from './db';
import type { StudioRun } from './types';

export interface RunSaverOptions {
  /** Wait before writing a change that only adds metrics, in milliseconds. */
  delayMs?: number;
  /** Receives the message of a failed write; the next change tries again. */
  onError?: (message: string) => void;
}

/**
 * Compares each new run list with what was last written, by object identity, because
 * the store replaces a run's object on every change. A run that is new, moved, removed,
 * renamed, or has a new status, extrapolation point or checkpoint step is written at
 * once, because each point can take minutes to compute and a checkpoint step must match
 * the stored checkpoint. A change that only adds metrics waits `delayMs`,
 * so that metrics arriving several times a second cost one write.
 * NOTE: a page closed within `delayMs` of the last metrics loses them.
 */
export class RunSaver {
  private readonly saved = new Map<string, { run: StudioRun; position: number }>();
  private readonly delayMs: number;
  private readonly onError: (message: string) => void;
  private latest: readonly StudioRun[];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private writes: Promise<void> = Promise.resolve();

  /** `written` is the list as it is stored now, such as the runs just loaded. */
  constructor(private readonly db: StudioDb, written: readonly StudioRun[], options: RunSaverOptions = {}) {
    this.delayMs = options.delayMs ?? 1000;
    this.onError = options.onError ?? ((message) => console.error(message));
    written.forEach((run, position) => this.saved.set(run.id, { run, position }));
    this.latest = written;
  }

  update(runs: readonly StudioRun[]): void {
    this.latest = runs;
    if (this.needsPromptWrite(runs)) {
      void this.flush();
      return;
    }
    if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), this.delayMs);
    }
  }

  /** Writes the latest list now; resolves when it and every earlier write are done. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const runs = this.latest;
    this.writes = this.writes.then(() => this.write(runs));
    return this.writes;
  }

  private needsPromptWrite(runs: readonly StudioRun[]): boolean {
    if (runs.length !== this.saved.size) return true;
    return runs.some((run, position) => {
      const saved = this.saved.get(run.id);
      return (
        !saved ||
        saved.position !== position ||
        saved.run.status !== run.status ||
        saved.run.name !== run.name ||
        saved.run.extrapolation !== run.extrapolation ||
        saved.run.checkpointStep !== run.checkpointStep
      );
    });
  }

  private async write(runs: readonly StudioRun[]): Promise<void> {
    const writes: RunWrite[] = [];
    runs.forEach((run, position) => {
      const saved = this.saved.get(run.id);
      if (saved && saved.run === run && saved.position === position) return;
      writes.push({ run, position, writeProbe: !saved || saved.run.probe !== run.probe });
    });
    const ids = new Set(runs.map((run) => run.id));
    const removed = [...this.saved.keys()].filter((id) => !ids.has(id));

    try {
      await this.db.deleteRuns(removed);
      await this.db.putRuns(writes);
    } catch (error) {
      this.onError(`Saving the runs in IndexedDB failed: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    for (const id of removed) this.saved.delete(id);
    for (const { run, position } of writes) this.saved.set(run.id, { run, position });
  }
}
