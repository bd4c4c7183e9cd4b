/**
 * The memory and speed sweep from the command line: `npm run bench -- attention
 * [options]`. A thin wrapper of src/bench/memorySpeed.ts, which the app runs too,
 * on WebGPU through the `webgpu` package (Dawn). Exit status: 0 when the sweep
 * finished, 1 when it failed, 2 for an invalid option.
 */
import { parseArgs } from 'node:util';
import { formatBytes, MAX_RUN_MS, runMemorySpeedBench } from '../bench/memorySpeed';
import type { MemorySpeedPoint, MemorySpeedResult, MemorySpeedSeries } from '../bench/memorySpeedTypes';
import { requestDevice } from '../engine/create';
import { SCAN_MAX_STATE } from '../engine/webgpu/kernels';
import { checkField, type FieldRule } from '../model/config';
import { loadNodeGpu, SWIFTSHADER_ICD } from './nodeGpu';

/** 2^8 to 2^20 tokens; where a series does not fit the device or the time limit, it is skipped with the reason. */
const DEFAULT_LENGTHS = Array.from({ length: 13 }, (_, i) => 2 ** (8 + i));
const DEFAULT_D_MODEL = 512;
const DEFAULT_N_HEAD = 8;
const DEFAULT_D_STATE = 16;
const DEFAULT_REPEATS = 3;

const LENGTH_RULE: FieldRule = { min: 1, max: 16_777_216, integer: true, example: 4096, label: 'sequence length' };
const D_MODEL_RULE: FieldRule = { min: 1, max: 1024, integer: true, example: DEFAULT_D_MODEL, label: 'd_model' };
const N_HEAD_RULE: FieldRule = { min: 1, max: 1024, integer: true, example: DEFAULT_N_HEAD, label: 'n_head' };
const D_STATE_RULE: FieldRule = { min: 1, max: SCAN_MAX_STATE, integer: true, example: DEFAULT_D_STATE, label: 'd_state' };
const REPEATS_RULE: FieldRule = { min: 1, max: 1000, integer: true, example: DEFAULT_REPEATS, label: 'repeats' };

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

const HELP = `Compare a Mamba block with an attention block of the same width on WebGPU,
per sequence length at batch 1, and print tables, or JSON.

Usage: npm run bench -- attention [options]
       tsx src/cli/bench.ts attention [options]

Measured at each length:
  time         forward, and forward + backward, of the Mamba block (RMSNorm, in_proj,
               conv1d, x_proj, dt_proj, fused selective scan, gate, out_proj, residual;
               expand 2, d_conv 4), the tiled attention block (RMSNorm, q/k/v, RoPE,
               FlashAttention-style tiled attention, o_proj, residual), and the same
               attention block with naive attention that stores its (n_head, l, l)
               probabilities; in milliseconds, median of the repeats
  memory       peak bytes each block allocates for forward + backward
  decoding     milliseconds per token of one decoding step at that context length:
               the Mamba block's recurrent step with its fixed-size state, and the
               attention block's step over a KV cache of that length, with the
               bytes of the state and of the cache

Options:
  --lengths L1,L2,...    sequence lengths in tokens, integers from ${LENGTH_RULE.min} to ${LENGTH_RULE.max}, measured
                         in ascending order (default: 2^8 to 2^20, ${DEFAULT_LENGTHS[0]},...,${DEFAULT_LENGTHS.at(-1)})
  --d-model N            width of both blocks (d_model), ${D_MODEL_RULE.min} to ${D_MODEL_RULE.max} (default: ${DEFAULT_D_MODEL})
  --n-head N             attention heads, a divisor of d_model (default: ${DEFAULT_N_HEAD})
  --d-state N            state size of the Mamba block (d_state), ${D_STATE_RULE.min} to ${D_STATE_RULE.max} (default: ${DEFAULT_D_STATE})
  --repeats N            timed runs of each measurement after one untimed run, ${REPEATS_RULE.min} to ${REPEATS_RULE.max}
                         (default: ${DEFAULT_REPEATS})
  --wall-clock           time with the wall clock even when the device offers timestamps
  --json                 print one JSON object as the last line of stdout, with keys
                         bench, device, d_model, n_head, d_state, timing, points, slopes
                         and crossover_length; the tables then go to stderr
  -h, --help             print this help and exit

A series is skipped at a length, with the reason, when one of its buffers exceeds
the device's maxStorageBufferBindingSize or maxBufferSize, when the device runs
out of memory, or when its time per run, extrapolated from the previous length
(as length^2 for attention, length for Mamba), exceeds ${MAX_RUN_MS / 1000} s. So the default
lengths run the Mamba block toward 2^20 where memory allows, and the attention
blocks as far as memory and time allow.

Slopes are least-squares fits of log(value) against log(length) over the measured
lengths. The crossover is the shortest length from which the Mamba block's
forward + backward is faster than the tiled attention block's at every longer
measured length.

Times are GPU timestamps when the device offers the timestamp-query feature, and
otherwise wall time from submit to onSubmittedWorkDone; the output says which.
WebGPU under Node uses the Vulkan driver named by VK_ICD_FILENAMES. When it is
unset and ${SWIFTSHADER_ICD} exists, that software
driver (SwiftShader) is used, whose times are CPU times, not GPU times; point
VK_ICD_FILENAMES at your GPU's manifest, such as
/usr/share/vulkan/icd.d/nvidia_icd.json, to measure the hardware GPU.

Exit status: 0 done, 1 benchmark failed, 2 invalid option.
`;

/** Raised for an invalid command line; main prints the message and exits with status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface AttentionCliOptions {
  lengths: number[];
  dModel: number;
  nHead: number;
  dState: number;
  repeats: number;
  wallClock: boolean;
  json: boolean;
}

/**
 * Parses the options after the subcommand into validated options, or returns
 * null when --help was given. Lengths come back sorted without repeats. Throws
 * UsageError naming every invalid option.
 */
export function parseAttentionArgs(argv: string[]): AttentionCliOptions | null {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        lengths: { type: 'string' },
        'd-model': { type: 'string' },
        'n-head': { type: 'string' },
        'd-state': { type: 'string' },
        repeats: { type: 'string' },
        'wall-clock': { type: 'boolean' },
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
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals.join(' ')}: the attention benchmark takes only options`);

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
  const dModel = readNumber('--d-model', values['d-model'], D_MODEL_RULE, DEFAULT_D_MODEL);
  const nHead = readNumber('--n-head', values['n-head'], N_HEAD_RULE, DEFAULT_N_HEAD);
  const dState = readNumber('--d-state', values['d-state'], D_STATE_RULE, DEFAULT_D_STATE);
  const repeats = readNumber('--repeats', values.repeats, REPEATS_RULE, DEFAULT_REPEATS);
  if (errors.length === 0 && dModel % nHead !== 0) {
    errors.push(`--n-head = ${nHead} does not divide --d-model = ${dModel}: choose a divisor of ${dModel}, such as ${largestDivisorAtMost(dModel, nHead)}`);
  }
  if (errors.length > 0) throw new UsageError(errors.join('\n'));
  return {
    lengths: [...new Set(lengths)].sort((a, b) => a - b),
    dModel, nHead, dState, repeats,
    wallClock: values['wall-clock'] ?? false,
    json: values.json ?? false,
  };
}

function largestDivisorAtMost(n: number, limit: number): number {
  for (let d = Math.min(n, limit); d > 1; d--) if (n % d === 0) return d;
  return 1;
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
  for (const entry of raw.split(',')) {
    const result = parseNumber('--lengths entry', entry, LENGTH_RULE);
    if (typeof result === 'string') errors.push(`${result} (in --lengths ${raw})`);
    else lengths.push(result);
  }
  return lengths;
}

// ---------------------------------------------------------------- tables

function formatMs(ms: number | null): string {
  if (ms === null) return 'skipped';
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

function formatMaybeBytes(bytes: number | null): string {
  return bytes === null ? 'skipped' : formatBytes(bytes);
}

/** Returns attention / Mamba as "3.20x", or "-" when either is missing or Mamba's is 0. */
export function formatRatio(attention: number | null, mamba: number | null): string {
  if (attention === null || mamba === null || mamba <= 0) return '-';
  return `${(attention / mamba).toFixed(2)}x`;
}

interface Column {
  title: string;
  cell(p: MemorySpeedPoint): string;
}

const TIME_COLUMNS: Column[] = [
  { title: 'length', cell: (p) => String(p.length) },
  { title: 'mamba fwd', cell: (p) => formatMs(p.mamba_fwd_ms) },
  { title: 'mamba f+b', cell: (p) => formatMs(p.mamba_fwd_bwd_ms) },
  { title: 'attn fwd', cell: (p) => formatMs(p.attention_fwd_ms) },
  { title: 'attn f+b', cell: (p) => formatMs(p.attention_fwd_bwd_ms) },
  { title: 'naive fwd', cell: (p) => formatMs(p.attention_naive_fwd_ms) },
  { title: 'naive f+b', cell: (p) => formatMs(p.attention_naive_fwd_bwd_ms) },
  { title: 'attn/mamba fwd', cell: (p) => formatRatio(p.attention_fwd_ms, p.mamba_fwd_ms) },
  { title: 'attn/mamba f+b', cell: (p) => formatRatio(p.attention_fwd_bwd_ms, p.mamba_fwd_bwd_ms) },
];

const MEMORY_COLUMNS: Column[] = [
  { title: 'length', cell: (p) => String(p.length) },
  { title: 'mamba mem', cell: (p) => formatMaybeBytes(p.mamba_bytes) },
  { title: 'attn mem', cell: (p) => formatMaybeBytes(p.attention_bytes) },
  { title: 'naive mem', cell: (p) => formatMaybeBytes(p.attention_naive_bytes) },
  { title: 'attn/mamba mem', cell: (p) => formatRatio(p.attention_bytes, p.mamba_bytes) },
  { title: 'naive/mamba mem', cell: (p) => formatRatio(p.attention_naive_bytes, p.mamba_bytes) },
  { title: 'mamba dec', cell: (p) => formatMs(p.mamba_decode_ms_per_token) },
  { title: 'attn dec', cell: (p) => formatMs(p.attention_decode_ms_per_token) },
  { title: 'attn/mamba dec', cell: (p) => formatRatio(p.attention_decode_ms_per_token, p.mamba_decode_ms_per_token) },
  { title: 'state', cell: (p) => formatMaybeBytes(p.mamba_decode_state_bytes) },
  { title: 'KV cache', cell: (p) => formatMaybeBytes(p.attention_decode_cache_bytes) },
];

function formatRow(columns: Column[], cells: string[]): string {
  return cells.map((cell, i) => cell.padStart(Math.max(columns[i].title.length, 9))).join('  ');
}

function formatTable(columns: Column[], points: readonly MemorySpeedPoint[]): string[] {
  return [
    formatRow(columns, columns.map((c) => c.title)),
    ...points.map((p) => formatRow(columns, columns.map((c) => c.cell(p)))),
  ];
}

const SERIES_NAMES: Record<MemorySpeedSeries, string> = {
  mamba_fwd_ms: 'mamba fwd',
  mamba_fwd_bwd_ms: 'mamba fwd+bwd',
  attention_fwd_ms: 'attention fwd',
  attention_fwd_bwd_ms: 'attention fwd+bwd',
  attention_naive_fwd_ms: 'naive attention fwd',
  attention_naive_fwd_bwd_ms: 'naive attention fwd+bwd',
  mamba_bytes: 'mamba memory',
  attention_bytes: 'attention memory',
  attention_naive_bytes: 'naive attention memory',
  mamba_decode_ms_per_token: 'mamba decoding',
  attention_decode_ms_per_token: 'attention decoding',
  mamba_decode_state_bytes: 'mamba state',
  attention_decode_cache_bytes: 'KV cache',
};

/** Lines naming each skipped series and its reason, one per length and reason. */
export function formatSkipped(points: readonly MemorySpeedPoint[]): string[] {
  const lines: string[] = [];
  for (const point of points) {
    const byReason = new Map<string, string[]>();
    for (const [series, reason] of Object.entries(point.skipped)) {
      byReason.set(reason, [...(byReason.get(reason) ?? []), SERIES_NAMES[series as MemorySpeedSeries]]);
    }
    for (const [reason, series] of byReason) lines.push(`  length ${point.length}: ${series.join(', ')}: ${reason}`);
  }
  return lines;
}

/** Lines of the fitted slopes, one per series, with "-" where fewer than two lengths were measured. */
export function formatSlopes(slopes: MemorySpeedResult['slopes']): string[] {
  const width = Math.max(...Object.values(SERIES_NAMES).map((name) => name.length));
  return (Object.keys(SERIES_NAMES) as MemorySpeedSeries[]).map((series) => {
    const slope = slopes[series];
    return `  ${SERIES_NAMES[series].padEnd(width)}  ${slope === null || slope === undefined ? '-' : slope.toFixed(2)}`;
  });
}

async function main(argv: string[]): Promise<number> {
  let options: AttentionCliOptions | null;
  try {
    options = parseAttentionArgs(argv);
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
  const created = await requestDevice(gpu, options.wallClock ? [] : ['timestamp-query']);
  if ('reason' in created) {
    process.stderr.write(`bench: WebGPU unavailable: ${created.reason}\n`);
    return EXIT_FAILED;
  }
  const { device, adapterName } = created;

  // With --json the tables go to stderr, so that stdout ends with the one JSON line.
  const table = options.json ? process.stderr : process.stdout;
  const timestamps = !options.wallClock && device.features.has('timestamp-query');
  table.write(
    `Mamba block against attention block on ${adapterName}: batch 1, d_model ${options.dModel}, n_head ${options.nHead}, ` +
    `d_state ${options.dState}, expand 2, d_conv 4\n` +
    `Times in ms, median of ${options.repeats} runs, from ${timestamps ? 'GPU timestamps' : 'wall time from submit to onSubmittedWorkDone'}\n` +
    'attn is the tiled attention block, naive the one that stores its probabilities, f+b forward + backward\n\n' +
    `${formatTable(TIME_COLUMNS, [])[0]}\n`,
  );

  let result: MemorySpeedResult;
  try {
    result = await runMemorySpeedBench(device, adapterName, {
      lengths: options.lengths,
      d_model: options.dModel,
      n_head: options.nHead,
      d_state: options.dState,
      repeats: options.repeats,
      method: options.wallClock ? 'wall-clock' : 'auto',
      onPoint: (point) => table.write(`${formatTable(TIME_COLUMNS, [point])[1]}\n`),
    });
  } finally {
    device.destroy();
  }

  table.write(
    '\nPeak bytes allocated for forward + backward, and decoding in ms per token at each context length\n' +
    `${formatTable(MEMORY_COLUMNS, result.points).join('\n')}\n`,
  );
  table.write(`\nSlopes of log(value) against log(length):\n${formatSlopes(result.slopes).join('\n')}\n`);
  table.write(result.crossover_length === null
    ? '\nCrossover: the Mamba block is not faster than the tiled attention block at the longest length where both were measured\n'
    : `\nCrossover: the Mamba block's forward + backward is faster than the tiled attention block's from length ${result.crossover_length} on\n`);
  const skipped = formatSkipped(result.points);
  if (skipped.length > 0) table.write(`\nSkipped:\n${skipped.join('\n')}\n`);
  if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

/** Runs `npm run bench -- attention [options]`; argv contains the options after the subcommand. Returns the exit status. */
export function runAttentionBench(argv: string[]): Promise<number> {
  return main(argv);
}
