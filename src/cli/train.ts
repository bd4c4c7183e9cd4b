/**
 * Headless training from the command line: `npm run train -- --preset NAME --steps N`.
 * Runs the same Trainer as the browser worker, on the CPU engine or on WebGPU through
 * the `webgpu` package (Dawn). Exit status: 0 when training finished, 1 when it failed,
 * 2 for an invalid option or config, 130 when stopped with Ctrl+C.
 */
import { parseArgs } from 'node:util';
import { checkField, ConfigError, TRAIN_RULES, type FieldRule } from '../model/config';
import { DEFAULT_PRESET, findPreset, PRESETS } from '../presets';
import type { EngineInfo, EnginePreference, MetricsEvent, RunConfig, TrainerEvent } from '../protocol';
import { Trainer, validateRun } from '../../workers/trainer';
import { loadNodeGpu, SWIFTSHADER_ICD } from './nodeGpu';

const ENGINES: readonly EnginePreference[] = ['auto', 'webgpu', 'cpu'];

const DEFAULT_STEPS = 200;
const DEFAULT_LOG_INTERVAL_MS = 500;

const STEPS_RULE: FieldRule = { min: 1, max: 10_000_000, integer: true, example: DEFAULT_STEPS, label: 'steps' };
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
  --preset NAME          preset to train (default: ${DEFAULT_PRESET}); one of:
${PRESETS.map((preset) => `                           ${preset.name.padEnd(26)}${preset.label}`).join('\n')}
  --steps N              optimizer steps to run, ${STEPS_RULE.min} to ${STEPS_RULE.max} (default: ${DEFAULT_STEPS})
  --engine KIND          auto, webgpu or cpu (default: auto). auto uses WebGPU when an
                         adapter is found and the CPU engine otherwise
  --seed S               seed of the weights and the data, an integer from ${TRAIN_RULES.seed.min}
                         to ${TRAIN_RULES.seed.max} (default: the preset's)
  --lr RATE              AdamW learning rate, from ${TRAIN_RULES.learning_rate.min} to ${TRAIN_RULES.learning_rate.max} (default: the preset's)
  --batch-size N         sequences per step, ${TRAIN_RULES.batch_size.min} to ${TRAIN_RULES.batch_size.max} (default: the preset's)
  --seq-len N            tokens per sequence, ${TRAIN_RULES.seq_len.min} to ${TRAIN_RULES.seq_len.max}; selective copying
                         needs at least 2 * n_data (default: the preset's)
  --log-interval-ms MS   wall time between metric reads, in milliseconds; each read
                         waits for the GPU (default: ${DEFAULT_LOG_INTERVAL_MS})
  --json                 print one JSON object as the last line of stdout, with keys
                         preset, steps, loss, accuracy, engine, device, wall_s and
                         tokens_per_second; the text summary then goes to stderr
  -h, --help             print this help and exit

Loss (mean cross-entropy in nats) and accuracy count only answer positions, and
average the steps since the previous metric read. Wall time runs from engine setup
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
  run: RunConfig;
  logIntervalMs: number;
  json: boolean;
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

  const presetName = values.preset ?? DEFAULT_PRESET;
  const preset = findPreset(presetName);
  if (!preset) {
    const names = PRESETS.map((p) => p.name).join(', ');
    throw new UsageError(`--preset ${presetName} not found: use one of ${names}`);
  }

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

  const engine = values.engine ?? 'auto';
  if (!(ENGINES as readonly string[]).includes(engine)) {
    errors.push(`--engine ${engine} is invalid: use auto, webgpu or cpu`);
  }

  const run: RunConfig = structuredClone(preset.run);
  run.engine = engine as EnginePreference;
  run.max_steps = readNumber('--steps', values.steps, STEPS_RULE, DEFAULT_STEPS);
  run.train.seed = readNumber('--seed', values.seed, TRAIN_RULES.seed, run.train.seed);
  run.train.learning_rate = readNumber('--lr', values.lr, TRAIN_RULES.learning_rate, run.train.learning_rate);
  run.train.batch_size = readNumber('--batch-size', values['batch-size'], TRAIN_RULES.batch_size, run.train.batch_size);
  run.train.seq_len = readNumber('--seq-len', values['seq-len'], TRAIN_RULES.seq_len, run.train.seq_len);
  const logIntervalMs = readNumber(
    '--log-interval-ms',
    values['log-interval-ms'],
    LOG_INTERVAL_RULE,
    DEFAULT_LOG_INTERVAL_MS,
  );
  if (errors.length > 0) throw new UsageError(errors.join('\n'));

  // Cross-field rules, such as seq_len >= 2 * n_data, apply once the overrides are in.
  try {
    validateRun(run);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`invalid config for preset ${preset.name}:\n${err.message}`);
    throw err;
  }

  return { run, logIntervalMs, json: values.json ?? false };
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
  const { run, json } = options;

  // The CPU engine needs no GPU, so the native package is loaded only for auto and webgpu.
  let gpu: GPU | undefined;
  if (run.engine !== 'cpu') {
    const created = await loadNodeGpu();
    gpu = created.gpu;
    if (created.reason && run.engine === 'webgpu') {
      process.stderr.write(`train: WebGPU engine unavailable: ${created.reason}. Use --engine cpu.\n`);
      return EXIT_FAILED;
    }
  }

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

// Exit explicitly, so the status is main's even if a timer or a GPU handle is still open.
main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (err: unknown) => {
    process.stderr.write(`train: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(EXIT_FAILED);
  },
);
