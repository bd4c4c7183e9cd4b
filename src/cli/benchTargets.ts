/**
 * `npm run bench -- targets`: measures the fast scan's speed targets in one command and
 * prints each figure beside its target. It runs the scan benchmark at one length, the
 * default preset's training step with the fused and the simple scan, and bench-small's
 * tokens per second on the WebGPU and the CPU engines.
 */
import { parseArgs } from 'node:util';
import { requestDevice } from '../engine/create';
import type { ScanKind } from '../engine/webgpu/graph';
import { checkField, ConfigError, type FieldRule } from '../model/config';
import { DEFAULT_PRESET, findPreset } from '../presets';
import type { EnginePreference, RunConfig } from '../protocol';
import { runScanBench as measureScan, type ScanBenchPoint } from '../bench/scanBench';
import { validateRun } from '../../workers/trainer';
import { median, timeTrainingSteps } from './benchTrain';
import { loadNodeGpu, SWIFTSHADER_ICD } from './nodeGpu';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

const DEFAULTS = { length: 4096, dInner: 1024, dState: 16, repeats: 3, steps: 10, warmup: 2 };

const RULES: Record<'length' | 'dInner' | 'repeats' | 'steps' | 'warmup', FieldRule> = {
  length: { min: 1, max: 1 << 20, integer: true, example: DEFAULTS.length, label: 'scan length' },
  dInner: { min: 1, max: 65_536, integer: true, example: DEFAULTS.dInner, label: 'scan d_inner' },
  repeats: { min: 1, max: 100, integer: true, example: DEFAULTS.repeats, label: 'scan repeats' },
  steps: { min: 1, max: 10_000, integer: true, example: DEFAULTS.steps, label: 'timed training steps' },
  warmup: { min: 0, max: 1_000, integer: true, example: DEFAULTS.warmup, label: 'warm-up training steps' },
};

/** The preset whose tokens per second have targets of their own. */
const SMALL_PRESET = 'bench-small';

const HELP = `Measure the selective scan's speed targets and print each figure beside its target.

Usage: npm run bench -- targets [options]

Targets:
  scan-fwd-bwd       fused forward+backward at least 20x faster than the
                     materializing scan (batch 1, d_state 16, the length and
                     d_inner below)
  scan-fwd-copy      fused forward at most 2x the time of the copy kernel that
                     moves the same bytes
  train-fused        the default preset (${DEFAULT_PRESET}) trains at least 3x faster
                     per step with the fused scan than with the simple scan (WebGPU)
  small-webgpu       ${SMALL_PRESET} at least 5,000 tokens per second on WebGPU
  small-cpu          ${SMALL_PRESET} at least 2,500 tokens per second on the CPU engine

Options:
  --length N     scan length, ${RULES.length.min} to ${RULES.length.max} (default: ${DEFAULTS.length})
  --d-inner N    scan channels, ${RULES.dInner.min} to ${RULES.dInner.max} (default: ${DEFAULTS.dInner})
  --repeats N    timed runs of each scan kernel after one untimed run,
                 ${RULES.repeats.min} to ${RULES.repeats.max} (default: ${DEFAULTS.repeats})
  --steps N      timed training steps per measurement, ${RULES.steps.min} to ${RULES.steps.max}
                 (default: ${DEFAULTS.steps})
  --warmup N     untimed training steps first, ${RULES.warmup.min} to ${RULES.warmup.max} (default: ${DEFAULTS.warmup})
  --json         print one JSON object as the last line of stdout:
                 {"bench": "targets", "device", "targets": [{"name", "measured",
                 "required", "unit", "met", "detail"}]}; the table then goes to stderr
  -h, --help     print this help and exit

A target whose measurement fails or does not fit the device reads "not measured"
with the reason, and met is null; the others still run. The exit status is 0 when
every measurement ran, whether or not its target is met.

WebGPU under Node uses the Vulkan driver named by VK_ICD_FILENAMES, and
${SWIFTSHADER_ICD} (SwiftShader, a CPU
implementation) when it is unset and that file exists. Point VK_ICD_FILENAMES at
the GPU's manifest, such as /usr/share/vulkan/icd.d/nvidia_icd.json, to check the
targets on that GPU. SwiftShader figures are not hardware GPU figures.

Exit status: 0 done, 1 a measurement failed or WebGPU is unavailable, 2 invalid option.
`;

class UsageError extends Error {
  override name = 'UsageError';
}

interface TargetOptions {
  length: number;
  dInner: number;
  repeats: number;
  steps: number;
  warmup: number;
  json: boolean;
}

/** One target's figure; measured and met are null when it could not be measured. */
export interface TargetResult {
  name: string;
  measured: number | null;
  required: number;
  unit: 'x faster' | 'x the copy' | 'tokens/s';
  met: boolean | null;
  /** The times the figure comes from, or why it is missing. */
  detail: string;
}

export interface TargetsReport {
  bench: 'targets';
  device: string;
  targets: TargetResult[];
}

function parseCommandLine(argv: string[]): TargetOptions | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        length: { type: 'string' },
        'd-inner': { type: 'string' },
        repeats: { type: 'string' },
        steps: { type: 'string' },
        warmup: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) throw new UsageError(err.message);
    throw err;
  }
  if (values.help) return null;

  const errors: string[] = [];
  const read = (option: string, raw: string | undefined, rule: FieldRule, fallback: number): number => {
    if (raw === undefined) return fallback;
    const value = raw.trim() === '' ? Number.NaN : Number(raw);
    const message = checkField(option, Number.isFinite(value) ? value : raw, rule);
    if (message) errors.push(message);
    return value;
  };
  const options: TargetOptions = {
    length: read('--length', values.length, RULES.length, DEFAULTS.length),
    dInner: read('--d-inner', values['d-inner'], RULES.dInner, DEFAULTS.dInner),
    repeats: read('--repeats', values.repeats, RULES.repeats, DEFAULTS.repeats),
    steps: read('--steps', values.steps, RULES.steps, DEFAULTS.steps),
    warmup: read('--warmup', values.warmup, RULES.warmup, DEFAULTS.warmup),
    json: values.json ?? false,
  };
  if (errors.length > 0) throw new UsageError(errors.join('\n'));
  return options;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function ms(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

/** Turns one scan benchmark point into the two scan targets. */
export function scanTargets(point: ScanBenchPoint, dInner: number): TargetResult[] {
  const where = `length ${point.length}, d_inner ${dInner}`;
  const skipped = (variant: keyof NonNullable<ScanBenchPoint['skipped']>) => point.skipped?.[variant] ?? 'no time was recorded';
  // A kernel can finish within one tick of the timer at small sizes, and a ratio over 0 ms means nothing.
  const tooFast = `a kernel took 0 ms, below the timer's resolution: use a larger --length or --d-inner`;
  const fwdBwd: TargetResult = { name: 'scan-fwd-bwd', measured: null, required: 20, unit: 'x faster', met: null, detail: '' };
  if (point.fused_fwd_bwd_ms === 0) {
    fwdBwd.detail = `${where}: not measured: ${tooFast}`;
  } else if (point.fused_fwd_bwd_ms !== null && point.materializing_fwd_bwd_ms !== null) {
    const ratio = point.materializing_fwd_bwd_ms / point.fused_fwd_bwd_ms;
    fwdBwd.measured = round(ratio, 2);
    fwdBwd.met = ratio >= fwdBwd.required;
    fwdBwd.detail = `${where}: materializing ${ms(point.materializing_fwd_bwd_ms)} ms, fused ${ms(point.fused_fwd_bwd_ms)} ms`;
  } else {
    const reason = point.fused_fwd_bwd_ms === null ? skipped('fused_fwd_bwd') : skipped('materializing_fwd_bwd');
    fwdBwd.detail = `${where}: not measured: ${reason}`;
  }

  const copy: TargetResult = { name: 'scan-fwd-copy', measured: null, required: 2, unit: 'x the copy', met: null, detail: '' };
  if (point.copy_ms === 0) {
    copy.detail = `${where}: not measured: ${tooFast}`;
  } else if (point.fused_fwd_ms !== null && point.copy_ms !== null) {
    const ratio = point.fused_fwd_ms / point.copy_ms;
    copy.measured = round(ratio, 2);
    copy.met = ratio <= copy.required;
    copy.detail = `${where}: fused forward ${ms(point.fused_fwd_ms)} ms, copy of ${point.bytes} bytes ${ms(point.copy_ms)} ms`;
  } else {
    const reason = point.fused_fwd_ms === null ? skipped('fused_fwd') : skipped('copy');
    copy.detail = `${where}: not measured: ${reason}`;
  }
  return [fwdBwd, copy];
}

/** Returns the median ms per training step of a preset on one engine and scan. */
async function timeSteps(
  presetName: string, engine: EnginePreference, scan: ScanKind | undefined, gpu: GPU | undefined, options: TargetOptions,
): Promise<{ msPerStep: number; tokensPerStep: number; device: string }> {
  const preset = findPreset(presetName);
  if (!preset) throw new Error(`preset ${presetName} not found`);
  const run: RunConfig = { ...structuredClone(preset.run), engine, max_steps: 0 };
  try {
    validateRun(run);
  } catch (err) {
    if (err instanceof ConfigError) throw new Error(`invalid config for preset ${presetName}: ${err.message}`);
    throw err;
  }
  const { stepMs, tokensPerStep, info } = await timeTrainingSteps(run, gpu, scan, options.steps, options.warmup);
  return { msPerStep: median(stepMs), tokensPerStep, device: info.description };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Measures the training targets; a failed measurement becomes a "not measured" row. */
async function trainingTargets(gpu: GPU, options: TargetOptions): Promise<TargetResult[]> {
  const steps = `median of ${options.steps} steps after ${options.warmup} warm-up`;
  const results: TargetResult[] = [];

  const fused: TargetResult = { name: 'train-fused', measured: null, required: 3, unit: 'x faster', met: null, detail: '' };
  try {
    const withFused = await timeSteps(DEFAULT_PRESET, 'webgpu', 'fused', gpu, options);
    const withSimple = await timeSteps(DEFAULT_PRESET, 'webgpu', 'simple', gpu, options);
    const ratio = withSimple.msPerStep / withFused.msPerStep;
    fused.measured = round(ratio, 2);
    fused.met = ratio >= fused.required;
    fused.detail = `${DEFAULT_PRESET}: simple scan ${ms(withSimple.msPerStep)} ms/step, fused ${ms(withFused.msPerStep)} ms/step (${steps})`;
  } catch (error) {
    fused.detail = `${DEFAULT_PRESET}: not measured: ${errorText(error)}`;
  }
  results.push(fused);

  for (const [name, engine, required] of [['small-webgpu', 'webgpu', 5000], ['small-cpu', 'cpu', 2500]] as const) {
    const row: TargetResult = { name, measured: null, required, unit: 'tokens/s', met: null, detail: '' };
    try {
      // The WebGPU engine uses the scan that the app picks for this adapter.
      const timed = await timeSteps(SMALL_PRESET, engine, undefined, engine === 'webgpu' ? gpu : undefined, options);
      const tokensPerSecond = (timed.tokensPerStep / timed.msPerStep) * 1000;
      row.measured = Math.round(tokensPerSecond);
      row.met = tokensPerSecond >= required;
      row.detail = `${SMALL_PRESET} on ${timed.device}: ${ms(timed.msPerStep)} ms/step (${steps})`;
    } catch (error) {
      row.detail = `${SMALL_PRESET} on ${engine}: not measured: ${errorText(error)}`;
    }
    results.push(row);
  }
  return results;
}

/** Formats the results as an aligned table, one row per target. */
export function formatTargets(report: TargetsReport): string {
  const header = ['target', 'measured', 'required', 'met'];
  const rows = report.targets.map((t) => {
    const relation = t.unit === 'x the copy' ? 'at most' : 'at least';
    const measured = t.measured === null ? 'not measured' : `${t.measured.toLocaleString('en-US')} ${t.unit}`;
    let met = '–';
    if (t.met !== null) met = t.met ? 'yes' : 'no';
    return [t.name, measured, `${relation} ${t.required.toLocaleString('en-US')} ${t.unit}`, met];
  });
  const widths = header.map((_, i) => Math.max(header[i].length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  return [
    `Speed targets on ${report.device}`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    ...report.targets.map((t) => `${t.name}: ${t.detail}`),
  ].join('\n');
}

/** Runs `npm run bench -- targets [options]`; argv contains the options after the subcommand. Returns the exit status. */
export async function runTargetsBench(argv: string[]): Promise<number> {
  let options: TargetOptions | null;
  try {
    options = parseCommandLine(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const lines = err.message.split('\n').map((line) => `bench targets: ${line}\n`);
    process.stderr.write(`${lines.join('')}Run with --help to list the options.\n`);
    return EXIT_USAGE;
  }
  if (!options) {
    process.stdout.write(HELP);
    return 0;
  }

  const { gpu, reason } = await loadNodeGpu();
  if (!gpu) {
    process.stderr.write(`bench targets: WebGPU unavailable: ${reason}\n`);
    return EXIT_FAILED;
  }
  const created = await requestDevice(gpu, ['timestamp-query']);
  if ('reason' in created) {
    process.stderr.write(`bench targets: WebGPU unavailable: ${created.reason}\n`);
    return EXIT_FAILED;
  }
  const log = options.json ? process.stderr : process.stdout;
  log.write(`Measuring on ${created.adapterName}: the scan at length ${options.length}, then the training steps.\n`);

  const targets: TargetResult[] = [];
  try {
    const scan = await measureScan(created.device, created.adapterName, {
      lengths: [options.length],
      dInner: options.dInner,
      dState: DEFAULTS.dState,
      repeats: options.repeats,
    });
    targets.push(...scanTargets(scan.points[0], options.dInner));
  } catch (error) {
    process.stderr.write(`bench targets: the scan benchmark failed: ${errorText(error)}\n`);
    return EXIT_FAILED;
  } finally {
    created.device.destroy();
  }
  targets.push(...(await trainingTargets(gpu, options)));

  const report: TargetsReport = { bench: 'targets', device: created.adapterName, targets };
  log.write(`\n${formatTargets(report)}\n`);
  if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  return targets.some((t) => t.measured === null) ? EXIT_FAILED : 0;
}
