/**
 * Progress and time left of the studio's runs, from the milliseconds per step each run
 * measured. Pure functions with no DOM, store or worker.
 */
import type { QueueMode } from './queueProtocol';
import { startsWithQueue, type StudioRun } from './types';

/** Milliseconds per step of one run: measured, estimated from other runs, or unknown. */
export interface StepCost {
  ms: number;
  /** True when the run has no measurement yet and the figure comes from other runs. */
  estimated: boolean;
}

export interface TimeLeft {
  /** Wall time until each run that will still train finishes, in milliseconds; null when unknown. */
  byRun: Map<string, number | null>;
  /** Wall time until every such run finishes; null when any run's cost is unknown. */
  totalMs: number | null;
  /** True when some figure uses a cost estimated from other runs. */
  estimated: boolean;
}

/** True for a run that the queue will still train: queued, training, or paused and not held by its own Pause. */
export function willTrain(run: StudioRun): boolean {
  return run.status === 'running' || startsWithQueue(run);
}

/**
 * Returns the run's milliseconds per step over its last metrics interval, or over the
 * whole run when it has one reading. Returns null before the first reading.
 */
export function measuredMsPerStep(run: StudioRun): number | null {
  const last = run.metrics.at(-1);
  if (!last || last.step <= 0) return null;
  const previous = run.metrics.at(-2);
  if (previous && last.step > previous.step) return (last.elapsedMs - previous.elapsedMs) / (last.step - previous.step);
  return last.elapsedMs / last.step;
}

/** Work of one step in arbitrary units: parameters times tokens per step. */
function stepWork(run: StudioRun): number {
  return run.parameterCount * run.config.train.batch_size * run.config.train.seq_len;
}

/**
 * Returns each run's cost per step. A run without a measurement gets the median cost
 * per unit of work of the measured runs, scaled by its own work.
 * NOTE: the scaling is a rough estimate, because it ignores the engine, the state size
 * and the architecture, which change the cost per parameter.
 */
export function stepCosts(runs: readonly StudioRun[]): Map<string, StepCost | null> {
  const measured = new Map<string, number>();
  for (const run of runs) {
    const ms = measuredMsPerStep(run);
    if (ms !== null && ms > 0) measured.set(run.id, ms);
  }
  const rates = runs
    .filter((run) => measured.has(run.id) && stepWork(run) > 0)
    .map((run) => measured.get(run.id)! / stepWork(run))
    .sort((a, b) => a - b);
  const medianRate = rates.length > 0 ? rates[Math.floor(rates.length / 2)] : null;

  const costs = new Map<string, StepCost | null>();
  for (const run of runs) {
    const ms = measured.get(run.id);
    if (ms !== undefined) costs.set(run.id, { ms, estimated: false });
    else if (medianRate !== null) costs.set(run.id, { ms: medianRate * stepWork(run), estimated: true });
    else costs.set(run.id, null);
  }
  return costs;
}

/**
 * Returns the steps a run still has to train. A run live in the worker goes on from its
 * step. Any other, such as a paused run after a reload, resumes from its checkpoint, or
 * restarts from step 0 when it has none.
 */
export function stepsLeft(run: StudioRun, live: boolean): number {
  if (!willTrain(run)) return 0;
  const from = live ? run.step : (run.checkpointStep ?? 0);
  return Math.max(0, run.config.max_steps - from);
}

/**
 * Estimates the wall time until each run finishes if the queue trains every run that
 * will still train, in list order. Sequential: a run waits for every run before it.
 * Interleaved with equal slices: while run i does its r_i steps, every other run j does
 * min(r_j, r_i) of its own, so run i finishes after Σ_j min(r_j, r_i) · ms_j.
 */
export function estimateTimeLeft(runs: readonly StudioRun[], mode: QueueMode, live: (run: StudioRun) => boolean): TimeLeft {
  const costs = stepCosts(runs);
  const pending = runs
    .filter(willTrain)
    .map((run) => ({ run, steps: stepsLeft(run, live(run)), cost: costs.get(run.id) ?? null }));
  const byRun = new Map<string, number | null>();
  const estimated = pending.some((p) => p.cost?.estimated);
  const costOf = (p: (typeof pending)[number]) => (p.cost === null ? null : p.steps * p.cost.ms);

  // A running run goes first in sequential mode, because the queue finishes it before starting another.
  const ordered = mode === 'sequential' ? [...pending].sort((a, b) => Number(b.run.status === 'running') - Number(a.run.status === 'running')) : pending;
  let sum: number | null = 0;
  for (const p of ordered) {
    if (mode === 'sequential') {
      const own = costOf(p);
      sum = sum === null || own === null ? null : sum + own;
      byRun.set(p.run.id, sum);
      continue;
    }
    let finish: number | null = 0;
    for (const other of pending) {
      if (other.cost === null) {
        finish = null;
        break;
      }
      finish += Math.min(other.steps, p.steps) * other.cost.ms;
    }
    byRun.set(p.run.id, finish);
  }

  let totalMs: number | null = 0;
  for (const p of pending) {
    const own = costOf(p);
    totalMs = totalMs === null || own === null ? null : totalMs + own;
  }
  return { byRun, totalMs, estimated };
}

/** Returns the steps done and the steps in all over every run; finished runs count in full, failed ones not at all. */
export function overallProgress(runs: readonly StudioRun[]): { done: number; total: number } {
  let done = 0;
  let total = 0;
  for (const run of runs) {
    if (run.status === 'error') continue;
    total += run.config.max_steps;
    done += run.status === 'done' ? run.config.max_steps : Math.min(run.step, run.config.max_steps);
  }
  return { done, total };
}
