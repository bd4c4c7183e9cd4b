/**
 * The memory and speed sweep: a Mamba block against an attention block of the
 * same width (src/bench/blocks.ts), per sequence length at batch 1, on one
 * device. For each length it times the forward pass and the forward + backward
 * pass of three blocks: Mamba, tiled attention and naive attention. It records
 * the peak bytes that each block's GpuContext held for forward + backward. It also times one decoding step per token at that
 * context length (src/bench/decodeBlocks.ts): the Mamba block's recurrent step,
 * whose state has a fixed size, and the attention block's step over a KV cache
 * of that many rows. It takes a GPUDevice, so the app's worker and the Node
 * command line (src/cli/benchAttention.ts) run the same code.
 *
 * Times are medians over the repeats, after one untimed run that also builds the
 * pipelines. With the timestamp-query feature (and method 'auto') they are GPU
 * timestamps from the start of a run's first compute pass to the end of its
 * last. Otherwise they are wall times from submit to onSubmittedWorkDone. A
 * decoding run encodes DECODE_STEPS_PER_RUN steps, and its time is divided by
 * that count.
 *
 * A series is null at a length, with the reason in `skipped`, in three cases.
 * One of its buffers exceeds maxStorageBufferBindingSize or maxBufferSize, which
 * is checked from the plan before anything is allocated. The device fails to
 * allocate or run it. Or its time per run, extrapolated from the last shorter
 * length, exceeds MAX_RUN_MS.
 */
import { logLogSlope } from '../charts/domains';
import { GpuContext, type Command } from '../engine/webgpu/context';
import { writeDecodePosition } from '../engine/webgpu/decodeKernels';
import { SCAN_MAX_STATE } from '../engine/webgpu/kernels';
import { buildLayout, initParams } from '../model/params';
import { Rng } from '../model/random';
import {
  attentionBlockLayout, buildAttentionBlock, buildMambaBlock, initAttentionBlockParams, mambaBlockConfig, planAttentionBlock, planBytes,
  planMambaBlock, storageBytes, type BlockPlan, type BlockShape, type BufferFloats, type BuiltBlock, type ScanPlanLimits,
} from './blocks';
import {
  attentionDecodeCacheBytes, buildAttentionDecode, buildMambaDecode, mambaDecodeStateBytes, planAttentionDecode, planMambaDecode,
} from './decodeBlocks';
import { formatBytes, guarded, timeCommands, type Timing } from './measure';
import { fillTiled } from './scanBench';
import type { MemorySpeedPoint, MemorySpeedRequest, MemorySpeedResult, MemorySpeedSeries } from './memorySpeedTypes';

export { formatBytes } from './measure';

export type MemorySpeedOptions = MemorySpeedRequest & {
  /** Receives each point as soon as it is measured. */
  onPoint?: (point: MemorySpeedPoint) => void;
  /** 'auto' uses timestamp queries when the device has that feature; 'wall-clock' never does. */
  method?: 'auto' | 'wall-clock';
};

/** Every series of a point, in the order of the result type. */
export const MEMORY_SPEED_SERIES: readonly MemorySpeedSeries[] = [
  'mamba_fwd_ms', 'mamba_fwd_bwd_ms', 'attention_fwd_ms', 'attention_fwd_bwd_ms', 'attention_naive_fwd_ms',
  'attention_naive_fwd_bwd_ms', 'mamba_bytes', 'attention_bytes', 'attention_naive_bytes', 'mamba_decode_ms_per_token',
  'attention_decode_ms_per_token', 'mamba_decode_state_bytes', 'attention_decode_cache_bytes',
];

/**
 * Longest predicted time of one run, forward + backward or forward, before a
 * series is skipped at a length. It bounds the sweep's duration where the
 * attention blocks grow as length², on a slow device or at long lengths.
 */
export const MAX_RUN_MS = 30_000;

type BufferLimits = Pick<GPUSupportedLimits, 'maxBufferSize' | 'maxStorageBufferBindingSize'>;
export type MemorySpeedLimits = BufferLimits & ScanPlanLimits;

// ---------------------------------------------------------------- request

/** Validates the request; throws a RangeError naming the first invalid value and the fix. */
export function checkMemorySpeedRequest(request: MemorySpeedRequest): void {
  const positive = (name: string, value: number, max = Number.MAX_SAFE_INTEGER) => {
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw new RangeError(`memory and speed sweep: ${name} = ${value} is invalid: use an integer from 1 to ${max}`);
    }
  };
  if (!Array.isArray(request.lengths) || request.lengths.length === 0) {
    throw new RangeError('memory and speed sweep: lengths is empty: give at least one sequence length, such as [256, 1024]');
  }
  request.lengths.forEach((length, i) => {
    positive(`lengths[${i}]`, length);
    if (i > 0 && length <= request.lengths[i - 1]) {
      throw new RangeError(
        `memory and speed sweep: lengths[${i}] = ${length} does not follow ${request.lengths[i - 1]}: sort the lengths ascending without repeats`,
      );
    }
  });
  positive('d_model', request.d_model, 1024);
  positive('n_head', request.n_head, request.d_model);
  if (request.d_model % request.n_head !== 0) {
    throw new RangeError(`memory and speed sweep: n_head = ${request.n_head} does not divide d_model = ${request.d_model}: choose a divisor of d_model`);
  }
  positive('d_state', request.d_state, SCAN_MAX_STATE);
  positive('repeats', request.repeats, 1000);
}

// ---------------------------------------------------------------- estimates

/** Returns why a set of buffers cannot be allocated under the device's per-buffer limits, or null when each fits. */
export function checkBufferLimits(limits: BufferLimits, buffers: BufferFloats): string | null {
  const limit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const name = limits.maxStorageBufferBindingSize <= limits.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
  let largest: [string, number] | null = null;
  for (const [role, floats] of Object.entries(buffers)) {
    const bytes = storageBytes(floats);
    if (largest === null || bytes > largest[1]) largest = [role, bytes];
  }
  if (largest === null || largest[1] <= limit) return null;
  return `exceeds device memory (its ${largest[0]} buffer needs ${formatBytes(largest[1])}, ` +
    `the device allows ${formatBytes(limit)} per buffer, ${name}; ${formatBytes(planBytes(buffers))} in all)`;
}

// ---------------------------------------------------------------- fits

/** Least-squares slope of log(value) against log(length) of every series, over the points where it was measured. */
export function fitSlopes(points: readonly MemorySpeedPoint[]): Partial<Record<MemorySpeedSeries, number | null>> {
  const slopes: Partial<Record<MemorySpeedSeries, number | null>> = {};
  for (const series of MEMORY_SPEED_SERIES) {
    slopes[series] = logLogSlope(points.map((p) => ({ x: p.length, y: p[series] })));
  }
  return slopes;
}

/**
 * Returns the shortest length from which the Mamba block's forward + backward is
 * faster than the tiled attention block's at every longer length where both were
 * measured, or null when it is not faster at the longest such length.
 */
export function crossoverLength(points: readonly MemorySpeedPoint[]): number | null {
  const both = points
    .filter((p) => p.mamba_fwd_bwd_ms !== null && p.attention_fwd_bwd_ms !== null)
    .sort((a, b) => a.length - b.length);
  let crossover: number | null = null;
  for (let i = both.length - 1; i >= 0; i--) {
    if (both[i].mamba_fwd_bwd_ms! >= both[i].attention_fwd_bwd_ms!) break;
    crossover = both[i].length;
  }
  return crossover;
}

// ---------------------------------------------------------------- series

/** Last measured time of each series, from which the next length's time is extrapolated. */
export type History = Map<MemorySpeedSeries, { length: number; ms: number }>;

/**
 * Returns why a series is skipped by MAX_RUN_MS at this length, or null to
 * measure it: its last measured time, scaled by (length / last length)^growth.
 */
export function timeLimitReason(history: History, series: MemorySpeedSeries, length: number, growth: number): string | null {
  const last = history.get(series);
  if (!last || growth === 0) return null;
  const predicted = last.ms * (length / last.length) ** growth;
  if (predicted <= MAX_RUN_MS) return null;
  const power = growth === 1 ? 'length' : `length^${growth}`;
  return `skipped to bound the sweep's time: predicted ${Number((predicted / 1000).toPrecision(2))} s per run ` +
    `(${Number(last.ms.toPrecision(3))} ms at length ${last.length}, growing as ${power}), over the limit of ${MAX_RUN_MS / 1000} s per run`;
}

interface BlockSeries {
  label: string;
  fwd: MemorySpeedSeries;
  fwdBwd: MemorySpeedSeries;
  bytes: MemorySpeedSeries;
  /** Power of length that its time is expected to grow with, for the time limit. */
  growth: number;
  plan(limits: MemorySpeedLimits, shape: BlockShape): BlockPlan;
  build(ctx: GpuContext, limits: MemorySpeedLimits, shape: BlockShape): Promise<BuiltBlock>;
}

const BLOCKS: BlockSeries[] = [
  {
    label: 'mamba block', fwd: 'mamba_fwd_ms', fwdBwd: 'mamba_fwd_bwd_ms', bytes: 'mamba_bytes', growth: 1,
    plan: planMambaBlock,
    build: (ctx, limits, shape) => buildMambaBlock(ctx, limits, shape),
  },
  {
    label: 'tiled attention block', fwd: 'attention_fwd_ms', fwdBwd: 'attention_fwd_bwd_ms', bytes: 'attention_bytes', growth: 2,
    plan: (_limits, shape) => planAttentionBlock(shape, 'tiled'),
    build: (ctx, _limits, shape) => buildAttentionBlock(ctx, shape, 'tiled'),
  },
  {
    label: 'naive attention block', fwd: 'attention_naive_fwd_ms', fwdBwd: 'attention_naive_fwd_bwd_ms', bytes: 'attention_naive_bytes',
    growth: 2,
    plan: (_limits, shape) => planAttentionBlock(shape, 'naive'),
    build: (ctx, _limits, shape) => buildAttentionBlock(ctx, shape, 'naive'),
  },
];

interface Sweep {
  device: GPUDevice;
  /** Holds one measurement's buffers at a time, and the pipelines of the whole sweep. */
  ctx: GpuContext;
  timing: Timing;
  repeats: number;
  history: History;
}

function record(sweep: Sweep, point: MemorySpeedPoint, series: MemorySpeedSeries, ms: number): void {
  point[series] = ms;
  sweep.history.set(series, { length: point.length, ms });
}

/** Measures one block at one length into the point: forward, forward + backward and the peak bytes of both. */
async function measureBlock(sweep: Sweep, block: BlockSeries, shape: BlockShape, point: MemorySpeedPoint): Promise<void> {
  const { device } = sweep;
  const skip = (series: MemorySpeedSeries[], reason: string) => {
    for (const s of series) point.skipped[s] ??= reason;
  };

  let plan: BlockPlan;
  try {
    plan = block.plan(device.limits, shape);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    skip([block.fwd, block.fwdBwd, block.bytes], err.message);
    return;
  }
  const all = { ...plan.forward, ...plan.backward };
  const forwardLimit = checkBufferLimits(device.limits, plan.forward);
  if (forwardLimit) {
    skip([block.fwd, block.fwdBwd, block.bytes], forwardLimit);
    return;
  }

  const { ctx } = sweep;
  ctx.destroyBuffers();
  ctx.resetPeak();
  try {
    const label = `${block.label} at length ${shape.length}`;
    const forward = await guarded(device, planBytes(plan.forward), async () => {
      const built = await block.build(ctx, device.limits, shape);
      const slow = timeLimitReason(sweep.history, block.fwd, shape.length, block.growth);
      const ms = slow ? null : await timeCommands(device, sweep.timing, built.forward, sweep.repeats, `${label} forward`);
      return { built, ms, slow };
    });
    if ('skipped' in forward) {
      skip([block.fwd, block.fwdBwd, block.bytes], forward.skipped);
      return;
    }
    if (forward.value.ms === null) skip([block.fwd], forward.value.slow!);
    else record(sweep, point, block.fwd, forward.value.ms);

    const backwardLimit = checkBufferLimits(device.limits, all);
    if (backwardLimit) {
      skip([block.fwdBwd, block.bytes], backwardLimit);
      return;
    }
    const backward = await guarded(device, planBytes(all), async () => {
      const commands = [...forward.value.built.forward, ...(await forward.value.built.backward())];
      const bytes = ctx.peakBytes;
      const slow = point[block.fwd] === null
        ? point.skipped[block.fwd]!
        : timeLimitReason(sweep.history, block.fwdBwd, shape.length, block.growth);
      const ms = slow ? null : await timeCommands(device, sweep.timing, commands, sweep.repeats, `${label} forward+backward`);
      return { bytes, ms, slow };
    });
    if ('skipped' in backward) {
      skip([block.fwdBwd, block.bytes], backward.skipped);
      return;
    }
    point[block.bytes] = backward.value.bytes;
    if (backward.value.ms === null) skip([block.fwdBwd], backward.value.slow!);
    else record(sweep, point, block.fwdBwd, backward.value.ms);
  } finally {
    ctx.destroyBuffers();
  }
}

/** Decoding steps encoded back to back in one timed run; the time per token is the run's time over this. */
export const DECODE_STEPS_PER_RUN = 8;

interface DecodeSeries {
  label: string;
  ms: MemorySpeedSeries;
  bytes: MemorySpeedSeries;
  /** Power of length that its time is expected to grow with, for the time limit. */
  growth: number;
  /** Storage buffers of the step at this context length, parameters included. */
  plan(shape: BlockShape): BufferFloats;
  /** Bytes of the state or cache that the step carries at this context length. */
  stateBytes(shape: BlockShape): number;
  /** Builds the step in ctx with its state or cache as it is `length` tokens into the sequence. */
  build(ctx: GpuContext, shape: BlockShape): Promise<Command[]>;
}

const DECODES: DecodeSeries[] = [
  {
    label: 'mamba decode', ms: 'mamba_decode_ms_per_token', bytes: 'mamba_decode_state_bytes', growth: 0,
    plan: (shape) => {
      const cfg = mambaBlockConfig(shape);
      return { params: buildLayout(cfg).totalSize, ...planMambaDecode(cfg, 1) };
    },
    stateBytes: (shape) => mambaDecodeStateBytes(mambaBlockConfig(shape), 1),
    build: async (ctx, shape) => {
      const cfg = mambaBlockConfig(shape);
      const layout = buildLayout(cfg);
      const params = ctx.upload('mamba decode: params', initParams(cfg, layout, 1));
      const built = await buildMambaDecode(ctx, cfg, layout, params, 1, 'mamba decode');
      fillTiled(ctx.device, built.x, shape.d_model, new Rng(2), -1, 1);
      // NOTE: the state starts at zero rather than after `length` tokens; its size and the step's work do not depend on them.
      return built.step;
    },
  },
  {
    label: 'attention decode', ms: 'attention_decode_ms_per_token', bytes: 'attention_decode_cache_bytes', growth: 1,
    plan: (shape) => ({ params: attentionBlockLayout(shape.d_model).totalSize, ...planAttentionDecode(shape.d_model, shape.n_head, 1, shape.length) }),
    stateBytes: (shape) => attentionDecodeCacheBytes(shape.d_model, 1, shape.length),
    build: async (ctx, shape) => {
      const layout = attentionBlockLayout(shape.d_model);
      const params = ctx.upload('attention decode: params', initAttentionBlockParams(layout, 1));
      const { length, d_model: dm } = shape;
      const built = await buildAttentionDecode(ctx, layout, params, dm, shape.n_head, 1, length, 'attention decode');
      const rng = new Rng(2);
      fillTiled(ctx.device, built.x, dm, rng, -1, 1);
      // Random keys and values stand in for the length − 1 tokens before; every timed step appends the last row and attends over all.
      fillTiled(ctx.device, built.state['k cache'], length * dm, rng, -1, 1);
      fillTiled(ctx.device, built.state['v cache'], length * dm, rng, -1, 1);
      writeDecodePosition(ctx.device, built.position, length - 1);
      return built.step;
    },
  },
];

/** Times one decoding step per token at one context length into the point, with the bytes of its state or cache. */
async function measureDecode(sweep: Sweep, decode: DecodeSeries, shape: BlockShape, point: MemorySpeedPoint): Promise<void> {
  const { device } = sweep;
  const skip = (reason: string) => {
    point.skipped[decode.ms] ??= reason;
    point.skipped[decode.bytes] ??= reason;
  };
  const buffers = decode.plan(shape);
  const limit = checkBufferLimits(device.limits, buffers);
  if (limit) {
    skip(limit);
    return;
  }
  const slow = timeLimitReason(sweep.history, decode.ms, shape.length, decode.growth);
  if (slow) {
    skip(slow);
    return;
  }

  const { ctx } = sweep;
  ctx.destroyBuffers();
  try {
    const label = `${decode.label} at length ${shape.length}`;
    const measured = await guarded(device, planBytes(buffers), async () => {
      const step = await decode.build(ctx, shape);
      return timeCommands(device, sweep.timing, step, sweep.repeats, label, DECODE_STEPS_PER_RUN);
    });
    if ('skipped' in measured) {
      skip(measured.skipped);
      return;
    }
    record(sweep, point, decode.ms, measured.value);
    point[decode.bytes] = decode.stateBytes(shape);
  } finally {
    ctx.destroyBuffers();
  }
}

function emptyPoint(length: number): MemorySpeedPoint {
  const series = Object.fromEntries(MEMORY_SPEED_SERIES.map((s) => [s, null])) as Record<MemorySpeedSeries, null>;
  return { length, ...series, skipped: {} };
}

/**
 * Runs the sweep on `device`; adapterName only labels the result. The buffers
 * of each measurement are destroyed before the next one allocates, and the
 * pipelines are built once for the whole sweep.
 */
export async function runMemorySpeedBench(device: GPUDevice, adapterName: string, options: MemorySpeedOptions): Promise<MemorySpeedResult> {
  checkMemorySpeedRequest(options);
  const method = options.method ?? 'auto';
  if (method !== 'auto' && method !== 'wall-clock') {
    throw new RangeError(`memory and speed sweep: method = ${String(method)} is invalid: use 'auto' or 'wall-clock'`);
  }
  const timing: Timing = method === 'auto' && device.features.has('timestamp-query') ? 'timestamp-query' : 'wall-clock';
  const sweep: Sweep = { device, ctx: new GpuContext(device), timing, repeats: options.repeats, history: new Map() };

  const points: MemorySpeedPoint[] = [];
  try {
    for (const length of options.lengths) {
      const shape: BlockShape = { length, d_model: options.d_model, n_head: options.n_head, d_state: options.d_state };
      const point = emptyPoint(length);
      for (const block of BLOCKS) await measureBlock(sweep, block, shape, point);
      for (const decode of DECODES) await measureDecode(sweep, decode, shape, point);
      points.push(point);
      options.onPoint?.(point);
    }
  } finally {
    sweep.ctx.destroy();
  }
  return {
    bench: 'attention',
    device: adapterName,
    d_model: options.d_model,
    n_head: options.n_head,
    d_state: options.d_state,
    timing,
    points,
    slopes: fitSlopes(points),
    crossover_length: crossoverLength(points),
  };
}
