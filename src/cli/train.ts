/**
 * Headless training from the command line: `npm run train -- --preset NAME --steps N`.
 * Runs the same Trainer as the browser worker, on the CPU engine or on WebGPU through
 * the `webgpu` package (Dawn). A grid preset or a grid file trains several runs and
 * prints their results table. Exit status: 0 when training finished, 1 when it
 * failed, 2 for an invalid option or config, 130 when stopped with Ctrl+C.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkField, ConfigError, TRAIN_RULES, type FieldRule } from '../model/config';
import { loadNodeGpu, SWIFTSHADER_ICD } from './nodeGpu';
import { DEFAULT_PRESET, findPreset, PRESETS } from '../presets';
import type { EngineInfo, EnginePreference, MetricsEvent, RunConfig, TrainerEvent } from '../protocol';
import { findGridPreset, GRID_PRESETS, type ExtrapolationSpec, type GridRun } from '../studio/paperPresets';
import { buildResultsTable, extrapolationCsv, formatResultsText, runsCsv, type ResultsTable, type RunOutcome } from '../studio/gridResults';
import { DEFAULT_EVAL_SEQUENCES, GridRunner, parseGridFile, plainGridRun, withOverrides } from './grid';
import { Trainer, validateRun } from '../../workers/trainer';

const ENGINES: readonly EnginePreference[] = ['auto', 'webgpu', 'cpu'];

const DEFAULT_STEPS = 200;
const DEFAULT_LOG_INTERVAL_MS = 500;

const STEPS_RULE: FieldRule = { min: 1, max: 10_000_000, integer: true, example: DEFAULT_STEPS, label: 'steps' };
const EVAL_SEQUENCES_RULE: FieldRule = { min: 1, max: 100_000, integer: true, example: DEFAULT_EVAL_SEQUENCES, label: 'evaluation sequences' };
const MAX_EVAL_LENGTH_RULE: FieldRule = { min: 4, max: 2 ** 24, integer: true, example: 4096, label: 'longest test length' };
const LOG_INTERVAL_RULE: FieldRule = {
  min: 0,
  max: 3_600_000,
  integer: true,
  example: DEFAULT_LOG_INTERVAL_MS,
  label: 'metrics interval',
};

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

const HELP = `Train a Mamba model on a synthetic task under Node and print the final metrics.

Usage: npm run train -- [options]
       tsx src/cli/train.ts [options]

Options:
  --preset NAME          preset or grid preset to train (default: ${DEFAULT_PRESET});
                         presets:
${PRESETS.map((preset) => `                           ${preset.name.padEnd(31)}${preset.label}`).join('\n')}
                         grid presets, several runs each:
${GRID_PRESETS.map((grid) => `                           ${grid.name.padEnd(31)}${grid.label}`).join('\n')}
  --grid FILE            train the runs of a JSON file containing a list of run configs
                         (task, model, train and optionally max_steps), as a grid
  --steps N              optimizer steps per run, ${STEPS_RULE.min} to ${STEPS_RULE.max} (default: a grid
                         run's own max_steps, else ${DEFAULT_STEPS})
  --engine KIND          auto, webgpu or cpu (default: auto for a preset, cpu for a
                         grid). auto uses WebGPU on a hardware adapter, and the CPU
                         engine when there is none or the only adapter is a
                         software one such as SwiftShader
  --seed S               seed of the weights and the data, an integer from ${TRAIN_RULES.seed.min}
                         to ${TRAIN_RULES.seed.max} (default: the preset's)
  --lr RATE              AdamW learning rate, from ${TRAIN_RULES.learning_rate.min} to ${TRAIN_RULES.learning_rate.max} (default: the preset's)
  --batch-size N         sequences per step, ${TRAIN_RULES.batch_size.min} to ${TRAIN_RULES.batch_size.max} (default: the preset's)
  --seq-len N            tokens per sequence, ${TRAIN_RULES.seq_len.min} to ${TRAIN_RULES.seq_len.max}; selective copying
                         needs at least 2 * n_data (default: the preset's)
  --log-interval-ms MS   wall time between metric reads, in milliseconds; each read
                         waits for the GPU (default: ${DEFAULT_LOG_INTERVAL_MS})
  --json                 print one JSON object as the last line of stdout: for a
                         preset, with keys preset, steps, loss, accuracy, engine,
                         device, wall_s and tokens_per_second, and for a grid the
                         results table; the text summary then goes to stderr
  --out DIR              write the results table to DIR/results.json and
                         DIR/results.csv, and for an extrapolation grid
                         DIR/extrapolation.csv; creates DIR. With a preset, prints
                         the table as for a grid
  --eval-sequences N     fresh sequences scored after training, and test sequences
                         per length of an extrapolation grid, ${EVAL_SEQUENCES_RULE.min} to ${EVAL_SEQUENCES_RULE.max}
                         (default: ${DEFAULT_EVAL_SEQUENCES}, and the grid's own per length)
  --max-eval-length N    drop an extrapolation grid's test lengths above N
  -h, --help             print this help and exit

Loss (mean cross-entropy in nats) and accuracy count only answer positions, and
average the steps since the previous metric read.

A grid (a grid preset, --grid or --out) prints its results table as CSV on stdout
and as aligned text on stderr: one row per run with the config fields that differ
between the runs, the accuracy on fresh sequences at the training length after
training, the last training accuracy and loss, parameters, steps, time and the
paper's accuracy. Extrapolation grids then score each model at every test length:
Mamba recurrently, one token at a time, and attention with its parallel forward
where its positions, the memory limit and the compute limit allow. Wall time runs from engine setup
to the last step. Tokens per second is batch size * sequence length * steps over
the training time, excluding engine setup.

WebGPU under Node uses the Vulkan driver named by VK_ICD_FILENAMES. When it is
unset and ${SWIFTSHADER_ICD} exists, that software
driver (SwiftShader) is used; point VK_ICD_FILENAMES at your GPU's manifest, such
as /usr/share/vulkan/icd.d/nvidia_icd.json, to train on the hardware GPU.

Exit status: 0 done, 1 training failed, 2 invalid option or config, 130 interrupted.
`;

/** Raised for an invalid command line; main prints the message and exits with status 2. */
class UsageError extends Error {
  override name = 'UsageError';
}

interface CliOptions {
  /** 'single' trains one preset and prints its summary; 'grid' trains the runs and prints the results table. */
  mode: 'single' | 'grid';
  /** Preset name, grid preset name or grid file. */
  name: string;
  runs: GridRun[];
  extrapolation: ExtrapolationSpec | null;
  logIntervalMs: number;
  json: boolean;
  out: string | null;
  evalSequences: number;
}

/** Parses argv into a validated run, or returns null when --help was given. Throws UsageError. */
function parseCommandLine(argv: string[]): CliOptions | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        preset: { type: 'string' },
        steps: { type: 'string' },
        engine: { type: 'string' },
        seed: { type: 'string' },
        lr: { type: 'string' },
        'batch-size': { type: 'string' },
        'seq-len': { type: 'string' },
        'log-interval-ms': { type: 'string' },
        json: { type: 'boolean' },
        grid: { type: 'string' },
        out: { type: 'string' },
        'eval-sequences': { type: 'string' },
        'max-eval-length': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    // parseArgs raises TypeError with an ERR_PARSE_ARGS_* code for unknown options and missing values.
    if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError(err.message);
    }
    throw err;
  }
  if (values.help) return null;

  if (values.grid !== undefined && values.preset !== undefined) {
    throw new UsageError('--grid and --preset are both given: use one of them');
  }
  const source = readRunSource(values.grid, values.preset ?? DEFAULT_PRESET);
  const mode = source.isGrid || values.out !== undefined ? 'grid' : 'single';

  // Collect every invalid option, so one run of the command reports them all.
  const errors: string[] = [];
  const readNumber = (option: string, raw: string | undefined, rule: FieldRule, fallback: number): number => {
    if (raw === undefined) return fallback;
    const result = parseNumber(option, raw, rule);
    if (typeof result === 'string') {
      errors.push(result);
      return fallback;
    }
    return result;
  };

  const engine = values.engine ?? (source.isGrid ? 'cpu' : 'auto');
  if (!(ENGINES as readonly string[]).includes(engine)) {
    errors.push(`--engine ${engine} is invalid: use auto, webgpu or cpu`);
  }
  const steps = readNumber('--steps', values.steps, STEPS_RULE, 0);
  const seed = readNumber('--seed', values.seed, TRAIN_RULES.seed, Number.NaN);
  const learningRate = readNumber('--lr', values.lr, TRAIN_RULES.learning_rate, Number.NaN);
  const batchSize = readNumber('--batch-size', values['batch-size'], TRAIN_RULES.batch_size, Number.NaN);
  const seqLen = readNumber('--seq-len', values['seq-len'], TRAIN_RULES.seq_len, Number.NaN);
  const logIntervalMs = readNumber(
    '--log-interval-ms',
    values['log-interval-ms'],
    LOG_INTERVAL_RULE,
    DEFAULT_LOG_INTERVAL_MS,
  );
  const evalSequences = readNumber('--eval-sequences', values['eval-sequences'], EVAL_SEQUENCES_RULE, Number.NaN);
  const maxEvalLength = readNumber('--max-eval-length', values['max-eval-length'], MAX_EVAL_LENGTH_RULE, Infinity);
  if (errors.length > 0) throw new UsageError(errors.join('\n'));

  const runs = source.runs.map((gridRun) => {
    const run = withOverrides(gridRun.config, engine as EnginePreference, steps, DEFAULT_STEPS);
    if (!Number.isNaN(seed)) run.train.seed = seed;
    if (!Number.isNaN(learningRate)) run.train.learning_rate = learningRate;
    if (!Number.isNaN(batchSize)) run.train.batch_size = batchSize;
    if (!Number.isNaN(seqLen)) run.train.seq_len = seqLen;
    // Cross-field rules, such as seq_len >= 2 * n_data, apply once the overrides are in.
    try {
      validateRun(run);
    } catch (err) {
      if (err instanceof ConfigError) {
        const runLabel = source.isGrid ? `run ${gridRun.name} of ${source.name}` : `preset ${source.name}`;
        throw new UsageError(`invalid config for ${runLabel}:\n${err.message}`);
      }
      throw err;
    }
    return { ...gridRun, config: run };
  });

  let extrapolation = source.extrapolation;
  if (extrapolation) {
    const lengths = extrapolation.lengths.filter((length) => length <= maxEvalLength);
    if (lengths.length === 0) {
      throw new UsageError(`--max-eval-length ${maxEvalLength} drops every test length: use at least ${extrapolation.lengths[0]}`);
    }
    extrapolation = { ...extrapolation, lengths, samples: Number.isNaN(evalSequences) ? extrapolation.samples : evalSequences };
  }

  return {
    mode,
    name: source.name,
    runs,
    extrapolation,
    logIntervalMs,
    json: values.json ?? false,
    out: values.out ?? null,
    evalSequences: Number.isNaN(evalSequences) ? DEFAULT_EVAL_SEQUENCES : evalSequences,
  };
}

interface RunSource {
  name: string;
  runs: GridRun[];
  isGrid: boolean;
  extrapolation: ExtrapolationSpec | null;
}

/** Finds the runs of --grid FILE, or of a preset or grid preset by name. Throws UsageError. */
function readRunSource(gridFile: string | undefined, presetName: string): RunSource {
  if (gridFile !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(gridFile, 'utf8');
    } catch (err) {
      throw new UsageError(`--grid ${gridFile} could not be read: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      return { name: path.basename(gridFile, '.json'), runs: parseGridFile(text, gridFile), isGrid: true, extrapolation: null };
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
  }

  const preset = findPreset(presetName);
  if (preset) return { name: preset.name, runs: [plainGridRun(preset.name, preset.run)], isGrid: false, extrapolation: null };
  const grid = findGridPreset(presetName);
  if (grid) return { name: grid.name, runs: grid.runs, isGrid: true, extrapolation: grid.extrapolation };
  const names = [...PRESETS, ...GRID_PRESETS].map((p) => p.name).join(', ');
  throw new UsageError(`--preset ${presetName} not found: use one of ${names}`);
}

/** Parses one numeric option, or returns the error message naming the option. */
function parseNumber(option: string, raw: string, rule: FieldRule): number | string {
  const value = raw.trim() === '' ? Number.NaN : Number(raw);
  // checkField prints the raw text when the value is not a number, so "abc" stays "abc".
  const message = checkField(option, Number.isFinite(value) ? value : raw, rule);
  return message ?? value;
}

/** A one-line progress bar on stderr, redrawn with \r on a terminal and printed per 10% otherwise. */
class ProgressBar {
  private readonly width = 24;
  private lastPrintedTenth = -1;

  constructor(
    private readonly totalSteps: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(metrics: MetricsEvent): void {
    const fraction = Math.min(1, metrics.step / this.totalSteps);
    const filled = Math.round(fraction * this.width);
    const bar = '#'.repeat(filled) + '-'.repeat(this.width - filled);
    const line =
      `[${bar}] ${String(metrics.step).padStart(String(this.totalSteps).length)}/${this.totalSteps} steps` +
      `  loss ${formatLoss(metrics.loss)}  accuracy ${formatPercent(metrics.accuracy)}` +
      `  ${Math.round(metrics.tokensPerSecond)} tokens/s`;

    if (this.stream.isTTY) {
      this.stream.write(`\r${line}\x1b[K`);
      return;
    }
    const tenth = Math.floor(fraction * 10);
    if (tenth > this.lastPrintedTenth) {
      this.lastPrintedTenth = tenth;
      this.stream.write(`${line}\n`);
    }
  }

  /** Ends the redrawn line so that later output starts on a new line. */
  finish(): void {
    if (this.stream.isTTY) this.stream.write('\n');
  }
}

function formatLoss(loss: number): string {
  return Number.isFinite(loss) ? loss.toFixed(4) : String(loss);
}

function formatPercent(fraction: number): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(1)}%` : String(fraction);
}

interface RunSummary {
  preset: string;
  steps: number;
  loss: number;
  accuracy: number;
  engine: EngineInfo['kind'];
  device: string;
  wall_s: number;
  tokens_per_second: number;
}

function summarize(run: RunConfig, info: EngineInfo, last: MetricsEvent | null, wallMs: number): RunSummary {
  const steps = last?.step ?? 0;
  const trainSeconds = (last?.elapsedMs ?? 0) / 1000;
  const tokens = steps * run.train.batch_size * run.train.seq_len;
  return {
    preset: run.preset,
    steps,
    loss: last?.loss ?? Number.NaN,
    accuracy: last?.accuracy ?? Number.NaN,
    engine: info.kind,
    device: info.description,
    wall_s: Math.round(wallMs) / 1000,
    tokens_per_second: trainSeconds > 0 ? Math.round((tokens / trainSeconds) * 10) / 10 : 0,
  };
}

function formatSummary(summary: RunSummary): string {
  return [
    `Preset             ${summary.preset}`,
    `Final step         ${summary.steps}`,
    `Loss               ${formatLoss(summary.loss)} nats`,
    `Accuracy           ${formatPercent(summary.accuracy)}`,
    `Engine             ${summary.device}`,
    `Wall time          ${summary.wall_s.toFixed(1)} s`,
    `Tokens per second  ${Math.round(summary.tokens_per_second)}`,
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  let options: CliOptions | null;
  try {
    options = parseCommandLine(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const lines = err.message.split('\n').map((line) => `train: ${line}\n`);
    process.stderr.write(`${lines.join('')}Run with --help to list the options.\n`);
    return EXIT_USAGE;
  }
  if (!options) {
    process.stdout.write(HELP);
    return 0;
  }
  // Every run shares the command line's engine. The CPU engine needs no GPU, so the
  // native package is loaded only for auto and webgpu.
  const engine = options.runs[0].config.engine;
  let gpu: GPU | undefined;
  if (engine !== 'cpu') {
    const created = await loadNodeGpu();
    gpu = created.gpu;
    if (created.reason && engine === 'webgpu') {
      process.stderr.write(`train: WebGPU engine unavailable: ${created.reason}. Use --engine cpu.\n`);
      return EXIT_FAILED;
    }
  }
  if (options.mode === 'grid') return trainGrid(options, gpu);

  const { json } = options;
  const run = options.runs[0].config;
  const trainer = new Trainer({ gpu: () => gpu, metricsIntervalMs: options.logIntervalMs, probeIntervalMs: Infinity });
  const progress = new ProgressBar(run.max_steps);
  let lastMetrics: MetricsEvent | null = null;
  let errorMessage: string | null = null;
  await trainer.subscribe((event: TrainerEvent) => {
    if (event.type === 'metrics') {
      lastMetrics = event;
      progress.update(event);
    } else if (event.type === 'status' && event.status === 'error') {
      errorMessage = event.message;
    }
  });

  const startedAt = performance.now();
  let info: EngineInfo;
  try {
    info = await trainer.configure(run);
  } catch (err) {
    process.stderr.write(`train: setting up the ${run.engine} engine failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILED;
  }
  if (info.fallbackReason) {
    process.stderr.write(`train: training on the CPU because WebGPU is unavailable: ${info.fallbackReason}\n`);
  }
  process.stderr.write(
    `train: ${run.preset}, ${run.max_steps} steps on ${info.description}, ${info.parameterCount} parameters\n`,
  );

  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
    void trainer.pause();
  };
  process.once('SIGINT', onInterrupt);

  await trainer.start();
  await trainer.finished();
  const wallMs = performance.now() - startedAt;
  process.off('SIGINT', onInterrupt);
  progress.finish();
  await trainer.dispose();

  if (errorMessage !== null) {
    process.stderr.write(`train: training failed at step ${trainer.currentStep}: ${errorMessage}\n`);
    return EXIT_FAILED;
  }

  const summary = summarize(run, info, lastMetrics, wallMs);
  const text = formatSummary(summary);
  if (json) {
    process.stderr.write(`${text}\n`);
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    process.stdout.write(`${text}\n`);
  }
  if (interrupted) {
    process.stderr.write(`train: stopped by Ctrl+C at step ${summary.steps} of ${run.max_steps}\n`);
    return EXIT_INTERRUPTED;
  }
  return 0;
}

/** Trains every run of a grid, then prints the results table and writes it under --out. */
async function trainGrid(options: CliOptions, gpu: GPU | undefined): Promise<number> {
  const { runs } = options;
  let progress: ProgressBar | null = null;
  const runner = new GridRunner({
    gpu: () => gpu,
    metricsIntervalMs: options.logIntervalMs,
    evalSequences: options.evalSequences,
    extrapolation: options.extrapolation,
    onRunStart: (index, run, info) => {
      process.stderr.write(
        `train: [${index + 1}/${runs.length}] ${run.name}, ${run.config.max_steps} steps on ${info.description}, ` +
          `${info.parameterCount} parameters\n`,
      );
      if (info.fallbackReason) process.stderr.write(`train: training on the CPU because WebGPU is unavailable: ${info.fallbackReason}\n`);
      progress = new ProgressBar(run.config.max_steps);
    },
    onMetrics: (_index, metrics) => progress?.update(metrics),
    onPoint: (_index, point) => {
      const result = point.accuracy === null ? point.status : `${formatPercent(point.accuracy)} (${point.method}, ${point.seconds.toFixed(1)} s)`;
      process.stderr.write(`train:   length ${point.length}: ${result}\n`);
    },
    onRunEnd: (_index, outcome) => {
      progress?.finish();
      progress = null;
      if (outcome.status === 'error') {
        process.stderr.write(`train:   failed at step ${outcome.steps}: ${outcome.message}\n`);
        return;
      }
      const paper = outcome.paperAccuracy === null ? '' : `, paper ${formatPercent(outcome.paperAccuracy)}`;
      process.stderr.write(
        `train:   accuracy ${formatPercent(outcome.accuracy)} on ${outcome.evalSequences} fresh sequences${paper}, ` +
          `${outcome.trainSeconds.toFixed(1)} s training\n`,
      );
    },
  });

  const onInterrupt = () => runner.stop();
  process.once('SIGINT', onInterrupt);
  const startedAt = new Date();
  const outcomes = await runner.run(runs);
  process.off('SIGINT', onInterrupt);

  const table = buildResultsTable(options.name, outcomes);
  process.stderr.write(`\n${formatResultsText(table)}\n`);
  const report = resultsReport(table, outcomes, startedAt);
  if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(runsCsv(table));
  if (options.out !== null) {
    try {
      writeResults(options.out, table, report);
    } catch (err) {
      process.stderr.write(`train: writing the results to ${options.out} failed: ${err instanceof Error ? err.message : String(err)}\n`);
      return EXIT_FAILED;
    }
    process.stderr.write(`train: results written to ${options.out}\n`);
  }

  if (runner.wasStopped) {
    process.stderr.write(`train: stopped by Ctrl+C after ${outcomes.length} of ${runs.length} runs\n`);
    return EXIT_INTERRUPTED;
  }
  return outcomes.some((outcome) => outcome.status === 'error') ? EXIT_FAILED : 0;
}

/** The results table with what is needed to repeat it: the command, the engine and the machine. */
function resultsReport(table: ResultsTable, outcomes: RunOutcome[], startedAt: Date) {
  const cpus = os.cpus();
  return {
    grid: table.grid,
    command: `npm run train -- ${process.argv.slice(2).join(' ')}`,
    started_at: startedAt.toISOString(),
    engine: outcomes[0]?.engine ?? '',
    machine: {
      cpu: cpus[0]?.model ?? 'unknown',
      cores: cpus.length,
      memory_gib: Math.round(os.totalmem() / 2 ** 30),
      platform: `${os.platform()} ${os.release()}`,
      node: process.version,
    },
    differing_fields: table.differingFields,
    runs: table.rows.map((row) => {
      const { run, fields, ...measured } = row;
      return { run, ...fields, ...measured };
    }),
    extrapolation: table.extrapolation,
  };
}

/** Writes results.json and results.csv, and extrapolation.csv when the grid has test lengths, creating the folder. */
function writeResults(folder: string, table: ResultsTable, report: object): void {
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(path.join(folder, 'results.csv'), runsCsv(table));
  if (table.extrapolation.length > 0) fs.writeFileSync(path.join(folder, 'extrapolation.csv'), extrapolationCsv(table));
}

// Exit explicitly, so the status is main's even if a timer or a GPU handle is still open.
main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (err: unknown) => {
    process.stderr.write(`train: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(EXIT_FAILED);
  },
);
