/**
 * The extrapolation slice: tests studio runs of a length-extrapolation grid at other
 * sequence lengths, one run at a time in the evaluation worker. Each length's point
 * is saved on its run as it arrives, so studioSync stores it with the run.
 */
import type { StateCreator } from 'zustand';
import { cancelEvaluation, EvaluationCancelledError, evaluateInWorker } from '../evaluationClient';
import { extrapolationSeed } from '../studio/extrapolationProtocol';
import { extrapolationSpecFor } from '../studio/grids';
import { errorMessage } from './runSlice';
import { loadStudioWeights } from './studioWeights';
import type { AppMiddleware, AppState } from './types';

/** The runs an evaluation works through. */
export interface ExtrapolationJob {
  /** The run being evaluated; null before the first starts. */
  runId: string | null;
  /** Runs still to evaluate, in order. */
  waiting: string[];
  /** Test lengths of the current run finished so far, and in all; total is 0 while its weights load. */
  done: number;
  total: number;
}

export interface ExtrapolationSlice {
  extrapolationJob: ExtrapolationJob | null;
  /** Reason a run's last evaluation stopped early or did not start, by run id. */
  extrapolationNotes: Record<string, string>;
  /**
   * Evaluates these runs in order at their grid's test lengths. While an evaluation
   * runs, the runs are added to its waiting list instead. Resolves when the runs
   * started here are done, or at once when they joined an evaluation in flight.
   */
  evaluateExtrapolation(ids: string[]): Promise<void>;
  /** Stops the evaluation in flight and drops the waiting runs; the points saved so far stay. */
  cancelExtrapolation(): void;
  resetExtrapolation(): void;
}

const initialExtrapolation = {
  extrapolationJob: null as ExtrapolationJob | null,
  extrapolationNotes: {} as Record<string, string>,
};

export const createExtrapolationSlice: StateCreator<AppState, AppMiddleware, [], ExtrapolationSlice> = (set, get) => {
  // Each evaluation loop has a number, and cancelling moves it on, so a loop that was cancelled stops touching the state.
  let generation = 0;

  const withoutNotes = (ids: string[]) => {
    const notes = { ...get().extrapolationNotes };
    for (const id of ids) delete notes[id];
    return notes;
  };
  const setNote = (id: string, note: string) => set({ extrapolationNotes: { ...get().extrapolationNotes, [id]: note } });
  const updateJob = (change: Partial<ExtrapolationJob>) => {
    const job = get().extrapolationJob;
    if (job) set({ extrapolationJob: { ...job, ...change } });
  };

  /** Evaluates one run; returns a note on why it did not finish, or null. */
  const evaluateRun = async (id: string, token: number): Promise<string | null> => {
    const run = get().studioRuns.find((r) => r.id === id);
    if (!run) return null;
    const spec = extrapolationSpecFor(run);
    if (!spec) return `${run.name} is not part of a length-extrapolation grid: add the induction heads extrapolation grid to test one.`;

    const weights = await loadStudioWeights(id);
    if (token !== generation) return null;
    if (!weights) {
      if (get().studioStorage === 'unavailable') {
        return 'Final weights are kept in IndexedDB, which this browser did not open, so no run can be evaluated after training.';
      }
      return `No final weights are stored for ${run.name}: train this run to the end first.`;
    }

    updateJob({ done: 0, total: spec.lengths.length });
    try {
      await evaluateInWorker({ config: run.config, params: weights.params, spec, seed: extrapolationSeed(run.config) }, (point) => {
        if (token !== generation) return;
        // A run deleted while it was being evaluated needs no more points, so the queue goes on to the next.
        if (!get().studioRuns.some((r) => r.id === id)) {
          cancelEvaluation();
          return;
        }
        get().saveExtrapolationPoint(id, point);
        updateJob({ done: (get().extrapolationJob?.done ?? 0) + 1 });
      });
      return null;
    } catch (error) {
      if (error instanceof EvaluationCancelledError) return null;
      return `Evaluating ${run.name} failed: ${errorMessage(error)}`;
    }
  };

  return {
    ...initialExtrapolation,

    async evaluateExtrapolation(ids) {
      const job = get().extrapolationJob;
      if (job) {
        const listed = new Set([job.runId, ...job.waiting]);
        const added = [...new Set(ids)].filter((id) => !listed.has(id));
        set({ extrapolationNotes: withoutNotes(added), extrapolationJob: { ...job, waiting: [...job.waiting, ...added] } });
        return;
      }
      if (ids.length === 0) return;

      const token = ++generation;
      set({ extrapolationNotes: withoutNotes(ids), extrapolationJob: { runId: null, waiting: [...new Set(ids)], done: 0, total: 0 } });
      for (;;) {
        const current = get().extrapolationJob;
        if (token !== generation || !current) return;
        const [id, ...waiting] = current.waiting;
        if (id === undefined) break;
        set({ extrapolationJob: { runId: id, waiting, done: 0, total: 0 } });
        const note = await evaluateRun(id, token);
        if (note !== null && token === generation) setNote(id, note);
      }
      set({ extrapolationJob: null });
    },

    cancelExtrapolation() {
      const job = get().extrapolationJob;
      if (!job) return;
      generation++;
      cancelEvaluation();
      const notes = { ...get().extrapolationNotes };
      if (job.runId !== null) {
        notes[job.runId] =
          job.total > 0 ? `Cancelled after ${job.done} of ${job.total} test lengths; the points so far are kept.` : 'Cancelled before it started.';
      }
      set({ extrapolationJob: null, extrapolationNotes: notes });
    },

    resetExtrapolation() {
      generation++;
      set(initialExtrapolation);
    },
  };
};
