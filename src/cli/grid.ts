/**
 * Runs the runs of a grid one after another under Node with the same Trainer as the
 * browser, then scores each trained model on the CPU reference: accuracy on fresh
 * sequences at the training length and, for extrapolation grids, at every test
 * length. The command line (train.ts) prints and saves the outcomes.
 */
import { ConfigError } from '../model/config';
import { resolveModelConfig } from '../model/models';
import type { EngineInfo, EnginePreference, MetricsEvent, RunConfig, TrainerEvent } from '../protocol';
import { evaluateAccuracy, evaluateExtrapolation, type ExtrapolationPoint } from '../studio/evaluate';
import type { ExtrapolationSpec, GridRun } from '../studio/paperPresets';
import { differingPaths, flattenRun, type RunOutcome } from '../studio/gridResults';
import { Trainer, validateRun } from '../../workers/trainer';

/** Offset of the evaluation sequences' seed from the run's seed; the data stream and the probe use others. */
export const EVAL_SEED_OFFSET = 2000;

/** Fresh sequences scored at the training length when no count is given. */
export const DEFAULT_EVAL_SEQUENCES = 256;

export interface GridCallbacks {
  onRunStart?(index: number, run: GridRun, info: EngineInfo): void;
  onMetrics?(index: number, metrics: MetricsEvent): void;
  onPoint?(index: number, point: ExtrapolationPoint): void;
  onRunEnd?(index: number, outcome: RunOutcome): void;
}

export interface GridOptions extends GridCallbacks {
  /** Returns the WebGPU entry point, or undefined for none. */
  gpu: () => GPU | undefined;
  metricsIntervalMs: number;
  /** Sequences scored at the training length after training. */
  evalSequences: number;
  /** Test lengths of an extrapolation grid; null to score at the training length only. */
  extrapolation: ExtrapolationSpec | null;
}

/** Trains and scores the runs of a grid in order; stop() ends the run in flight and skips the rest. */
export class GridRunner {
  private trainer: Trainer | null = null;
  private stopped = false;

  constructor(private readonly options: GridOptions) {}

  get wasStopped(): boolean {
    return this.stopped;
  }

  /** Stops after the training step in flight; the current run is scored as 'interrupted' and later runs are skipped. */
  stop(): void {
    this.stopped = true;
    void this.trainer?.pause();
  }

  async run(runs: GridRun[]): Promise<RunOutcome[]> {
    const outcomes: RunOutcome[] = [];
    for (let index = 0; index < runs.length && !this.stopped; index++) {
      const outcome = await this.runOne(index, runs[index]);
      outcomes.push(outcome);
      this.options.onRunEnd?.(index, outcome);
    }
    return outcomes;
  }

  private async runOne(index: number, gridRun: GridRun): Promise<RunOutcome> {
    const { options } = this;
    const run = gridRun.config;
    const startedAt = performance.now();
    const outcome: RunOutcome = {
      name: gridRun.name,
      config: run,
      paperAccuracy: gridRun.paperAccuracy,
      paperRow: gridRun.paperRow,
      paperCurve: gridRun.paperCurve,
      status: 'done',
      message: null,
      steps: 0,
      parameters: 0,
      trainLoss: Number.NaN,
      trainAccuracy: Number.NaN,
      accuracy: Number.NaN,
      evalSequences: 0,
      trainSeconds: 0,
      wallSeconds: 0,
      engine: '',
      extrapolation: null,
    };

    const trainer = new Trainer({ gpu: options.gpu, metricsIntervalMs: options.metricsIntervalMs, probeIntervalMs: Infinity });
    this.trainer = trainer;
    let lastMetrics: MetricsEvent | null = null;
    let errorMessage: string | null = null;
    await trainer.subscribe((event: TrainerEvent) => {
      if (event.type === 'metrics') {
        lastMetrics = event;
        options.onMetrics?.(index, event);
      } else if (event.type === 'status' && event.status === 'error') {
        errorMessage = event.message;
      }
    });

    try {
      const info = await trainer.configure(run);
      outcome.parameters = info.parameterCount;
      outcome.engine = info.description;
      options.onRunStart?.(index, gridRun, info);
      if (!this.stopped) {
        await trainer.start();
        await trainer.finished();
      }
      const metrics = lastMetrics as MetricsEvent | null;
      outcome.steps = trainer.currentStep;
      outcome.trainLoss = metrics?.loss ?? Number.NaN;
      outcome.trainAccuracy = metrics?.accuracy ?? Number.NaN;
      outcome.trainSeconds = (metrics?.elapsedMs ?? 0) / 1000;
      if (errorMessage !== null) {
        outcome.status = 'error';
        outcome.message = errorMessage;
        return outcome;
      }
      if (this.stopped) outcome.status = 'interrupted';

      // Score the weights as they are, even when interrupted, so a stopped grid still reports its last run.
      const params = await trainer.readParams();
      const config = resolveModelConfig(run.model);
      const evalSeed = run.train.seed + EVAL_SEED_OFFSET;
      outcome.accuracy = evaluateAccuracy(config, params, run.task, run.train.seq_len, options.evalSequences, evalSeed);
      outcome.evalSequences = options.evalSequences;
      if (options.extrapolation && run.task.kind === 'induction-heads') {
        outcome.extrapolation = evaluateExtrapolation(config, params, run.task, options.extrapolation, evalSeed, (point) =>
          options.onPoint?.(index, point),
        );
      }
    } catch (err) {
      outcome.status = 'error';
      outcome.message = err instanceof Error ? err.message : String(err);
    } finally {
      await trainer.dispose();
      this.trainer = null;
      outcome.wallSeconds = (performance.now() - startedAt) / 1000;
    }
    return outcome;
  }
}

/** One run of a grid file, or of a single preset, as a grid run without paper results. */
export function plainGridRun(name: string, config: RunConfig): GridRun {
  return { name, config, paperAccuracy: null, paperRow: null, paperCurve: null };
}

/**
 * Reads a grid file's text: a JSON list of RunConfigs. Names each run by the fields
 * that differ between them, such as "block=h3, selective_B=false", or "run N" when
 * none differ. Throws an Error naming the file and the run for invalid content.
 */
export function parseGridFile(text: string, file: string): GridRun[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!Array.isArray(value) || value.length === 0) {
    throw new Error(`${file} must contain a non-empty JSON list of run configs, each with task, model, train and max_steps`);
  }

  const runs = value as RunConfig[];
  const errors: string[] = [];
  runs.forEach((run, i) => {
    if (typeof run !== 'object' || run === null || !run.task || !run.model || !run.train) {
      errors.push(`${file}, run ${i + 1}: a run config needs task, model and train objects`);
      return;
    }
    // A grid file may leave out the preset name, the engine and max_steps.
    run.preset ??= 'grid';
    run.engine ??= 'cpu';
    run.max_steps ??= 0;
    try {
      validateRun(run);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      errors.push(...err.errors.map((e) => `${file}, run ${i + 1}: ${e.message}`));
    }
  });
  if (errors.length > 0) throw new Error(errors.join('\n'));

  const paths = differingPaths(runs);
  return runs.map((run, i) => {
    const flat = flattenRun(run);
    const label = paths.map((path) => `${path.slice(path.lastIndexOf('.') + 1)}=${String(flat[path] ?? '')}`).join(', ');
    return plainGridRun(label || `run ${i + 1}`, run);
  });
}

/** Applies the command line's engine and step count to a run; 0 steps keeps the run's own, or `fallbackSteps` when it has none. */
export function withOverrides(run: RunConfig, engine: EnginePreference, steps: number, fallbackSteps: number): RunConfig {
  const copy = structuredClone(run);
  copy.engine = engine;
  copy.max_steps = fallbackSteps;
  if (run.max_steps > 0) copy.max_steps = run.max_steps;
  if (steps > 0) copy.max_steps = steps;
  return copy;
}
