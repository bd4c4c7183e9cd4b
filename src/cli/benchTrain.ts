/**
 * `npm run bench -- train`: times whole training steps of a preset on one engine,
 * through the same Trainer and engines as the app, and prints the median
 * milliseconds per step and tokens per second.
 */
import { parseArgs } from 'node:util';
import { defaultScanKind, requestDevice } from '../engine/create';
import type { ScanKind } from '../engine/webgpu/graph';
import { profileTrainingStep, type StepProfile } from '../engine/webgpu/profile';
import { checkField, ConfigError, type FieldRule } from '../model/config';
import { buildLayout, initParams } from '../model/params';
import { Rng } from '../model/random';
import { findPreset, PRESETS } from '../presets';
import type { EngineInfo, RunConfig, TrainerEvent } from '../protocol';
import { generateBatch } from '../tasks';
import { Trainer, validateRun } from '../../workers/trainer';
import { loadNodeGpu, SWIFTSHADER_ICD } from './nodeGpu';

const ENGINES = ['webgpu', 'cpu'] as const;
type BenchEngine = (typeof ENGINES)[number];

const DEFAULT_PRESET = 'bench-small';
const DEFAULT_ENGINE: BenchEngine = 'webgpu';
const DEFAULT_STEPS = 20;
const DEFAULT_WARMUP = 3;
/** Maximum repeats of the profiled step; each dispatch's time is its minimum over them. */
const PROFILE_REPEATS = 5;

const STEPS_RULE: FieldRule = { min: 1, max: 100_000, integer: true, example: DEFAULT_STEPS, label: 'timed steps' };
const WARMUP_RULE: FieldRule = { min: 0, max: 10_000, integer: true, example: DEFAULT_WARMUP, label: 'warm-up steps' };

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

const HELP = `Time whole training steps (forward, backward and AdamW) of a preset on one engine.

Usage: npm run bench -- train [options]

Options:
  --preset NAME    preset to time (default: ${DEFAULT_PRESET}); one of:
${PRESETS.map((preset) => `                     ${preset.name}`).join('\n')}
  --engine KIND    webgpu or cpu (default: ${DEFAULT_ENGINE})
  --steps N        timed steps, ${STEPS_RULE.min} to ${STEPS_RULE.max} (default: ${DEFAULT_STEPS})
  --warmup N       untimed steps first, which compile pipelines and fill caches,
                   ${WARMUP_RULE.min} to ${WARMUP_RULE.max} (default: ${DEFAULT_WARMUP})
  --scan KIND      selective scan of the WebGPU engine: simple (one invocation
                   per channel looping over time, the unfused baseline) or
                   fused (default: as the app picks, simple on a software adapter
                   such as SwiftShader and fused otherwise)
  --json           print one JSON object as the last line of stdout, with keys
                   bench, preset, engine, device, ms_per_step, tokens_per_second
                   and steps; the text summary then goes to stderr
  --profile        after timing, also print the GPU time of each kernel in a step,
                   from timestamp queries around every dispatch (WebGPU only; the
                   adapter must offer 'timestamp-query'). Each dispatch gets its own
                   compute pass, so the sum can differ from the timed step
  -h, --help       print this help and exit

A step is timed from the engine's step call until the engine has finished it; on
WebGPU that includes waiting for the device (a flush), so GPU time is counted.
Generating the batch is not timed. ms_per_step is the median over the timed
steps, and tokens_per_second is batch_size * seq_len over that median.

WebGPU under Node uses the Vulkan driver named by VK_ICD_FILENAMES, and
${SWIFTSHADER_ICD} (SwiftShader, a CPU
implementation) when it is unset and that file exists. SwiftShader figures are
not hardware GPU figures.

Exit status: 0 done, 1 the benchmark failed, 2 invalid option.
`;

class UsageError extends Error {
  override name = 'UsageError';
}

interface BenchOptions {
  run: RunConfig;
  steps: number;
  warmup: number;
  json: boolean;
  profile: boolean;
  /** Undefined lets the engine pick by adapter. */
  scan: ScanKind | undefined;
}

/** Summary of one benchmark; the JSON output has exactly these keys. */
export interface TrainBenchSummary {
  bench: 'train';
  preset: string;
  engine: BenchEngine;
  device: string;
  ms_per_step: number;
  tokens_per_second: number;
  steps: number;
}

/** Parses argv into validated options, or returns null when --help was given. Throws UsageError. */
function parseCommandLine(argv: string[]): BenchOptions | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        preset: { type: 'string' },
        engine: { type: 'string' },
        steps: { type: 'string' },
        warmup: { type: 'string' },
        json: { type: 'boolean' },
        profile: { type: 'boolean' },
        scan: { type: 'string' },
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

  const errors: string[] = [];
  const presetName = values.preset ?? DEFAULT_PRESET;
  const preset = findPreset(presetName);
  if (!preset) errors.push(`--preset ${presetName} not found: use one of ${PRESETS.map((p) => p.name).join(', ')}`);

  const engine = values.engine ?? DEFAULT_ENGINE;
  if (!(ENGINES as readonly string[]).includes(engine)) errors.push(`--engine ${engine} is invalid: use webgpu or cpu`);

  const readCount = (option: string, raw: string | undefined, rule: FieldRule, fallback: number): number => {
    if (raw === undefined) return fallback;
    const value = raw.trim() === '' ? Number.NaN : Number(raw);
    // checkField prints the raw text when the value is not a number, so "abc" stays "abc".
    const message = checkField(option, Number.isFinite(value) ? value : raw, rule);
    if (message) errors.push(message);
    return value;
  };
  const steps = readCount('--steps', values.steps, STEPS_RULE, DEFAULT_STEPS);
  const warmup = readCount('--warmup', values.warmup, WARMUP_RULE, DEFAULT_WARMUP);
  const profile = values.profile ?? false;
  if (profile && engine !== 'webgpu') errors.push(`--profile is invalid with --engine ${engine}: it times WebGPU kernels, so use --engine webgpu`);
  const scan = values.scan;
  if (scan !== undefined && scan !== 'fused' && scan !== 'simple') errors.push(`--scan ${scan} is invalid: use fused or simple`);
  if (errors.length > 0 || !preset) throw new UsageError(errors.join('\n'));

  const run: RunConfig = structuredClone(preset.run);
  run.engine = engine as BenchEngine;
  run.max_steps = 0;
  try {
    validateRun(run);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`invalid config for preset ${preset.name}:\n${err.message}`);
    throw err;
  }
  return { run, steps, warmup, json: values.json ?? false, profile, scan: scan as ScanKind | undefined };
}

/** Returns the median of a non-empty list, the mean of the middle two for an even length. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function formatSummary(summary: TrainBenchSummary, stepMs: readonly number[], warmup: number, info: EngineInfo): string {
  return [
    `Preset             ${summary.preset} (${info.parameterCount} parameters)`,
    `Engine             ${summary.device}`,
    `Timed steps        ${summary.steps} after ${warmup} warm-up`,
    `Median ms/step     ${summary.ms_per_step.toFixed(2)} (min ${Math.min(...stepMs).toFixed(2)}, max ${Math.max(...stepMs).toFixed(2)})`,
    `Tokens per second  ${Math.round(summary.tokens_per_second)}`,
  ].join('\n');
}

/** Profiles one training step of the run on a device of its own, with the run's first batch. */
async function profileRun(gpu: GPU, run: RunConfig, repeats: number, chosenScan: ScanKind | undefined): Promise<StepProfile> {
  const { config, train } = validateRun(run);
  const requested = await requestDevice(gpu, ['timestamp-query']);
  if ('reason' in requested) throw new Error(requested.reason);
  const { device } = requested;
  if (!device.features.has('timestamp-query')) {
    device.destroy();
    throw new Error("--profile needs the WebGPU adapter's 'timestamp-query' feature, which this adapter lacks");
  }
  const scan = chosenScan ?? defaultScanKind(requested.software);
  if (config.architecture !== 'mamba') {
    device.destroy();
    throw new Error(`--profile times the Mamba training step, and preset ${run.preset} is a ${config.architecture}: choose a Mamba preset`);
  }
  try {
    const params = initParams(config, buildLayout(config), train.seed);
    // The trainer's data stream starts from this seed too, so this is its first batch.
    const batch = generateBatch(run.task, train.batch_size, train.seq_len, new Rng(train.seed * 2 + 1));
    return await profileTrainingStep(device, config, train, params, batch, repeats, scan);
  } finally {
    device.destroy();
  }
}

function formatProfile(profile: StepProfile, repeats: number): string {
  const lines = [
    `GPU time per kernel in one step (timestamp queries, minimum of ${repeats} repeats per dispatch):`,
    `  ${'kernel'.padEnd(32)}${'dispatches'.padStart(10)}${'ms'.padStart(10)}${'share'.padStart(8)}`,
  ];
  for (const k of profile.kernels) {
    const share = profile.totalMs > 0 ? (100 * k.ms) / profile.totalMs : 0;
    lines.push(`  ${k.kernel.padEnd(32)}${String(k.dispatches).padStart(10)}${k.ms.toFixed(2).padStart(10)}${`${share.toFixed(1)}%`.padStart(8)}`);
  }
  const dispatches = profile.kernels.reduce((sum, k) => sum + k.dispatches, 0);
  lines.push(`  ${'total'.padEnd(32)}${String(dispatches).padStart(10)}${profile.totalMs.toFixed(2).padStart(10)}`);
  return lines.join('\n');
}

/** Step times of a benchmark run, in milliseconds, with the tokens of one step and the engine that ran them. */
export interface TimedSteps {
  stepMs: number[];
  tokensPerStep: number;
  info: EngineInfo;
}

/**
 * Times `steps` training steps of a valid run after `warmup` untimed ones, through the
 * app's Trainer. Rejects with the engine's message when setup, a step or the device fails.
 */
export async function timeTrainingSteps(
  run: RunConfig, gpu: GPU | undefined, scan: ScanKind | undefined, steps: number, warmup: number,
): Promise<TimedSteps> {
  // The engine reports device loss and uncaptured errors as status events; flush also rejects on them.
  const trainer = new Trainer({ gpu: () => gpu, probeIntervalMs: Infinity, scan });
  let deviceError: string | null = null;
  await trainer.subscribe((event: TrainerEvent) => {
    if (event.type === 'status' && event.status === 'error') deviceError = event.message;
  });
  try {
    const info = await trainer.configure(run);
    const { stepMs, tokensPerStep } = await trainer.benchmark(steps, warmup);
    if (deviceError !== null) throw new Error(deviceError);
    return { stepMs, tokensPerStep, info };
  } finally {
    await trainer.dispose();
  }
}

/** Runs the train benchmark with the arguments after `train`; returns the exit status. */
export async function runTrainBench(argv: string[]): Promise<number> {
  let options: BenchOptions | null;
  try {
    options = parseCommandLine(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const lines = err.message.split('\n').map((line) => `bench train: ${line}\n`);
    process.stderr.write(`${lines.join('')}Run with --help to list the options.\n`);
    return EXIT_USAGE;
  }
  if (!options) {
    process.stdout.write(HELP);
    return 0;
  }
  const { run, steps, warmup, json, profile } = options;
  const engine = run.engine as BenchEngine;

  let gpu: GPU | undefined;
  if (engine === 'webgpu') {
    const loaded = await loadNodeGpu();
    if (!loaded.gpu) {
      process.stderr.write(`bench train: WebGPU engine unavailable: ${loaded.reason}. Use --engine cpu.\n`);
      return EXIT_FAILED;
    }
    gpu = loaded.gpu;
  }

  let timed: TimedSteps;
  try {
    timed = await timeTrainingSteps(run, gpu, options.scan, steps, warmup);
  } catch (err) {
    process.stderr.write(`bench train: benchmarking ${run.preset} on ${engine} failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILED;
  }
  const { stepMs, tokensPerStep, info } = timed;

  const msPerStep = median(stepMs);
  const summary: TrainBenchSummary = {
    bench: 'train',
    preset: run.preset,
    engine,
    device: info.description,
    ms_per_step: Math.round(msPerStep * 1000) / 1000,
    tokens_per_second: Math.round((tokensPerStep / msPerStep) * 1000 * 10) / 10,
    steps,
  };
  let text = formatSummary(summary, stepMs, warmup, info);
  if (profile && gpu) {
    const repeats = Math.min(steps, PROFILE_REPEATS);
    try {
      text += `\n\n${formatProfile(await profileRun(gpu, run, repeats, options.scan), repeats)}`;
    } catch (err) {
      process.stderr.write(`bench train: profiling ${run.preset} failed: ${err instanceof Error ? err.message : String(err)}\n`);
      return EXIT_FAILED;
    }
  }
  if (json) {
    process.stderr.write(`${text}\n`);
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    process.stdout.write(`${text}\n`);
  }
  return 0;
}
