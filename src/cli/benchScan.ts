/**
 * The scan benchmark from the command line: `npm run bench -- scan [options]`. A thin
 * wrapper of src/bench/scanBench.ts, which the app can run too, on WebGPU through
 * the `webgpu` package (Dawn). Exit status: 0 when the benchmark finished, 1 when
 * it failed, 2 for an invalid option.
 */
import { parseArgs } from 'node:util';
import { runScanBench as measureScan, type ScanBenchPoint, type ScanBenchResult, type ScanVariant } from '../bench/scanBench';
import { requestDevice } from '../engine/create';
import { SCAN_MAX_STATE } from '../engine/webgpu/kernels';
import { checkField, type FieldRule } from '../model/config';
import { loadNodeGpu, SWIFTSHADER_ICD } from './nodeGpu';

const BENCHMARKS = ['scan'] as const;

const DEFAULT_LENGTHS = [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];
const DEFAULT_D_INNER = 1024;
const DEFAULT_D_STATE = 16;
const DEFAULT_REPEATS = 5;

const LENGTH_RULE: FieldRule = { min: 1, max: 16_777_216, integer: true, example: 4096, label: 'sequence length' };
const D_INNER_RULE: FieldRule = { min: 1, max: 16_384, integer: true, example: DEFAULT_D_INNER, label: 'd_inner' };
const D_STATE_RULE: FieldRule = { min: 1, max: SCAN_MAX_STATE, integer: true, example: DEFAULT_D_STATE, label: 'd_state' };
const REPEATS_RULE: FieldRule = { min: 1, max: 1000, integer: true, example: DEFAULT_REPEATS, label: 'repeats' };

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

const HELP = `Time GPU kernels under Node and print a table, or JSON.

Usage: npm run bench -- scan [options]
       tsx src/cli/bench.ts scan [options]

Benchmarks:
  scan                   the selective scan at batch 1: the fused scan (forward, and
                         forward + backward), the materializing scan that writes the
                         discretised A and Bu as (length, d_inner, d_state) tensors, and
                         a copy kernel that moves the bytes the fused forward pass reads
                         and writes. Prints the time of each in milliseconds (median of
                         the repeats), the ratios materializing / fused and fused / copy,
                         and the effective bandwidth in GB/s (10^9 bytes per second)

Options:
  --lengths L1,L2,...    sequence lengths in tokens, integers from ${LENGTH_RULE.min} to ${LENGTH_RULE.max}
                         (default: ${DEFAULT_LENGTHS.join(',')})
  --d-inner N            channels (d_inner), ${D_INNER_RULE.min} to ${D_INNER_RULE.max} (default: ${DEFAULT_D_INNER})
  --d-state N            state size per channel (d_state), ${D_STATE_RULE.min} to ${D_STATE_RULE.max} (default: ${DEFAULT_D_STATE})
  --repeats N            timed runs of each kernel after one untimed run, ${REPEATS_RULE.min} to ${REPEATS_RULE.max}
                         (default: ${DEFAULT_REPEATS})
  --json                 print one JSON object as the last line of stdout, with keys
                         bench, device, d_inner, d_state, timing and points; the table
                         then goes to stderr
  -h, --help             print this help and exit

Times are GPU timestamps when the device offers the timestamp-query feature, and
otherwise wall time from submit to onSubmittedWorkDone; the output says which. A
kernel whose buffers exceed a device limit (maxStorageBufferBindingSize,
maxBufferSize) at some length, or that the device fails to run (out of memory),
is reported as skipped, with the reason.

WebGPU under Node uses the Vulkan driver named by VK_ICD_FILENAMES. When it is
unset and ${SWIFTSHADER_ICD} exists, that software
driver (SwiftShader) is used, whose times are CPU times, not GPU times; point
VK_ICD_FILENAMES at your GPU's manifest, such as
/usr/share/vulkan/icd.d/nvidia_icd.json, to measure the hardware GPU.

Exit status: 0 done, 1 benchmark failed, 2 invalid option.
`;

/** Raised for an invalid command line; main prints the message and exits with status 2. */
class UsageError extends Error {
  override name = 'UsageError';
}

interface CliOptions {
  lengths: number[];
  dInner: number;
  dState: number;
  repeats: number;
  json: boolean;
}

/** Parses argv into validated options, or returns null when --help was given. Throws UsageError. */
function parseCommandLine(argv: string[]): CliOptions | null {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        lengths: { type: 'string' },
        'd-inner': { type: 'string' },
        'd-state': { type: 'string' },
        repeats: { type: 'string' },
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

  if (positionals.length === 0) throw new UsageError(`missing the benchmark name: use ${BENCHMARKS.join(', ')}`);
  if (positionals.length > 1) throw new UsageError(`expected one benchmark name, got ${positionals.join(' ')}: use ${BENCHMARKS.join(', ')}`);
  const [name] = positionals;
  if (!(BENCHMARKS as readonly string[]).includes(name)) {
    throw new UsageError(`benchmark ${name} not found: use ${BENCHMARKS.join(', ')}`);
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

  const lengths = values.lengths === undefined ? DEFAULT_LENGTHS : parseLengths(values.lengths, errors);
  const dInner = readNumber('--d-inner', values['d-inner'], D_INNER_RULE, DEFAULT_D_INNER);
  const dState = readNumber('--d-state', values['d-state'], D_STATE_RULE, DEFAULT_D_STATE);
  const repeats = readNumber('--repeats', values.repeats, REPEATS_RULE, DEFAULT_REPEATS);
  if (errors.length > 0) throw new UsageError(errors.join('\n'));
  return { lengths, dInner, dState, repeats, json: values.json ?? false };
}

/** Parses one numeric option, or returns the error message naming the option. */
function parseNumber(option: string, raw: string, rule: FieldRule): number | string {
  const value = raw.trim() === '' ? Number.NaN : Number(raw);
  // checkField prints the raw text when the value is not a number, so "abc" stays "abc".
  const message = checkField(option, Number.isFinite(value) ? value : raw, rule);
  return message ?? value;
}

/** Parses a comma-separated list of lengths, adding a message naming each invalid entry to errors. */
function parseLengths(raw: string, errors: string[]): number[] {
  const lengths: number[] = [];
  const entries = raw.split(',');
  for (const entry of entries) {
    const result = parseNumber('--lengths entry', entry, LENGTH_RULE);
    if (typeof result === 'string') {
      errors.push(`${result} (in --lengths ${raw})`);
    } else {
      lengths.push(result);
    }
  }
  return lengths;
}

function formatMs(ms: number | null): string {
  if (ms === null) return 'skipped';
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

function formatRatio(numerator: number | null, denominator: number | null): string {
  if (numerator === null || denominator === null || denominator <= 0) return '-';
  return `${(numerator / denominator).toFixed(2)}x`;
}

function formatBandwidth(bytes: number, ms: number | null): string {
  if (ms === null || ms <= 0) return '-';
  const gbPerSecond = bytes / (ms * 1e6);
  return gbPerSecond >= 10 ? gbPerSecond.toFixed(1) : gbPerSecond.toPrecision(3);
}

const COLUMNS = [
  'length', 'fused fwd', 'fused f+b', 'mat. fwd', 'mat. f+b', 'copy',
  'mat/fused fwd', 'mat/fused f+b', 'fused/copy', 'fused GB/s', 'copy GB/s',
];

function formatRow(cells: string[]): string {
  return cells.map((cell, i) => cell.padStart(Math.max(COLUMNS[i].length, 9))).join('  ');
}

function formatPoint(point: ScanBenchPoint): string {
  return formatRow([
    String(point.length),
    formatMs(point.fused_fwd_ms),
    formatMs(point.fused_fwd_bwd_ms),
    formatMs(point.materializing_fwd_ms),
    formatMs(point.materializing_fwd_bwd_ms),
    formatMs(point.copy_ms),
    formatRatio(point.materializing_fwd_ms, point.fused_fwd_ms),
    formatRatio(point.materializing_fwd_bwd_ms, point.fused_fwd_bwd_ms),
    formatRatio(point.fused_fwd_ms, point.copy_ms),
    formatBandwidth(point.bytes, point.fused_fwd_ms),
    formatBandwidth(point.bytes, point.copy_ms),
  ]);
}

const VARIANT_NAMES: Record<ScanVariant, string> = {
  fused_fwd: 'fused fwd',
  fused_fwd_bwd: 'fused fwd+bwd',
  materializing_fwd: 'materializing fwd',
  materializing_fwd_bwd: 'materializing fwd+bwd',
  copy: 'copy',
};

/** Lines naming each skipped kernel and its reason, one per length and reason. */
function formatSkipped(points: readonly ScanBenchPoint[]): string[] {
  const lines: string[] = [];
  for (const point of points) {
    const byReason = new Map<string, string[]>();
    for (const [variant, reason] of Object.entries(point.skipped ?? {})) {
      byReason.set(reason, [...(byReason.get(reason) ?? []), VARIANT_NAMES[variant as ScanVariant]]);
    }
    for (const [reason, variants] of byReason) lines.push(`  length ${point.length}: ${variants.join(', ')} skipped: ${reason}`);
  }
  return lines;
}

async function main(argv: string[]): Promise<number> {
  let options: CliOptions | null;
  try {
    options = parseCommandLine(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const lines = err.message.split('\n').map((line) => `bench: ${line}\n`);
    process.stderr.write(`${lines.join('')}Run with --help to list the options.\n`);
    return EXIT_USAGE;
  }
  if (!options) {
    process.stdout.write(HELP);
    return 0;
  }

  const { gpu, reason } = await loadNodeGpu();
  if (!gpu) {
    process.stderr.write(`bench: WebGPU unavailable: ${reason}\n`);
    return EXIT_FAILED;
  }
  const created = await requestDevice(gpu, ['timestamp-query']);
  if ('reason' in created) {
    process.stderr.write(`bench: WebGPU unavailable: ${created.reason}\n`);
    return EXIT_FAILED;
  }
  const { device, adapterName } = created;

  // With --json the table goes to stderr, so that stdout ends with the one JSON line.
  const table = options.json ? process.stderr : process.stdout;
  const timing = device.features.has('timestamp-query') ? 'GPU timestamps' : 'wall time from submit to onSubmittedWorkDone';
  table.write(
    `Selective scan on ${adapterName}: batch 1, d_inner ${options.dInner}, d_state ${options.dState}\n` +
    `Times in ms, median of ${options.repeats} runs, from ${timing}\n` +
    'mat. is the materializing scan, f+b forward + backward, and GB/s the fused forward pass\'s bytes over each time\n\n' +
    `${formatRow(COLUMNS)}\n`,
  );

  let result: ScanBenchResult;
  try {
    result = await measureScan(device, adapterName, {
      lengths: options.lengths,
      dInner: options.dInner,
      dState: options.dState,
      repeats: options.repeats,
      onPoint: (point) => table.write(`${formatPoint(point)}\n`),
    });
  } finally {
    device.destroy();
  }

  const skipped = formatSkipped(result.points);
  if (skipped.length > 0) table.write(`\nSkipped:\n${skipped.join('\n')}\n`);
  if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

/** Runs `npm run bench -- scan [options]`; argv contains the options after the subcommand. Returns the exit status. */
export function runScanBench(argv: string[]): Promise<number> {
  return main(['scan', ...argv]);
}
