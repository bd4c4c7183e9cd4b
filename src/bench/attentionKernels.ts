/**
 * Micro benchmark of the attention kernels at one shape: tiled attention
 * (attention.wgsl) against attention that stores its (b, n_head, l, l)
 * probabilities (attention_naive.wgsl), forward and forward + backward, with the
 * bytes of the buffers each one allocates.
 */
import { Rng } from '../model/random';
import {
  attentionBackward, attentionForward, attentionNaiveBackward, attentionNaiveForward, attentionNaiveProbsFloats,
} from '../engine/webgpu/attentionKernels';
import { GpuContext, readBuffers, type Dispatch } from '../engine/webgpu/context';

export interface AttentionBenchShape {
  length: number;
  nHead: number;
  headDim: number;
  batch: number;
}

export interface AttentionBenchOptions {
  /** Timed repetitions of each measurement; 10 by default. */
  repeats?: number;
  /** Untimed repetitions before each measurement, which also build the pipelines; 2 by default. */
  warmup?: number;
  /**
   * 'auto' uses timestamp queries when the device has the feature, which the
   * device must have been requested with; 'wall-clock' never uses them.
   */
  method?: 'auto' | 'wall-clock';
}

export interface AttentionTiming {
  /** Mean milliseconds per forward pass. */
  forwardMs: number;
  /** Mean milliseconds per forward and backward pass together. */
  forwardBackwardMs: number;
}

export type AttentionVariant = 'tiled' | 'naive';

export interface AttentionVariantResult {
  /**
   * Bytes of the storage buffers the variant needs (inputs, outputs, gradients
   * and scratch), uniforms excluded; given also when the variant is skipped.
   */
  bytes: number;
  /** Bytes of the scratch alone: dDot (b, n_head, l) when tiled, the probabilities (b, n_head, l, l) when naive. */
  scratchBytes: number;
  /** null when the variant was skipped. */
  timing: AttentionTiming | null;
  /** Reason the variant was skipped, such as a buffer over the device's limits; null when measured. */
  skipped: string | null;
}

export interface AttentionBenchResult {
  shape: AttentionBenchShape;
  /**
   * 'timestamp-query': GPU time from the start to the end of each compute pass.
   * 'wall-clock': time from the first submission to onSubmittedWorkDone, over
   * back-to-back submissions, so it includes submission overhead.
   */
  method: 'timestamp-query' | 'wall-clock';
  repeats: number;
  tiled: AttentionVariantResult;
  naive: AttentionVariantResult;
}

type BufferLimits = Pick<GPUSupportedLimits, 'maxBufferSize' | 'maxStorageBufferBindingSize'>;

/** Returns the storage buffers of one variant, by role, in floats. */
function bufferFloats(variant: AttentionVariant, s: AttentionBenchShape): Record<string, number> {
  const tokens = s.batch * s.length * s.nHead * s.headDim;
  const rows = s.batch * s.nHead * s.length;
  const common = { q: tokens, k: tokens, v: tokens, dout: tokens, out: tokens, lse: rows, dq: tokens, dk: tokens, dv: tokens };
  return variant === 'tiled'
    ? { ...common, dDot: rows }
    : { ...common, probs: attentionNaiveProbsFloats(s.batch, s.length, s.nHead) };
}

/** Returns the bytes that GpuContext.createStorage allocates for `floats` floats. */
function storageBytes(floats: number): number {
  return Math.max(4, floats * 4);
}

/**
 * Sizes the buffers of one variant without allocating them. The result's skipped
 * field gives the reason when one buffer exceeds maxStorageBufferBindingSize or maxBufferSize.
 */
export function planAttentionVariant(
  limits: BufferLimits, variant: AttentionVariant, shape: AttentionBenchShape,
): Omit<AttentionVariantResult, 'timing'> {
  const floats = bufferFloats(variant, shape);
  const scratchRole = variant === 'tiled' ? 'dDot' : 'probs';
  let bytes = 0;
  let skipped: string | null = null;
  for (const [role, count] of Object.entries(floats)) {
    const size = storageBytes(count);
    bytes += size;
    const limit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    if (skipped === null && size > limit) {
      const name = limits.maxStorageBufferBindingSize <= limits.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
      skipped = `${variant} attention needs a ${size}-byte ${role} buffer, over this device's ${name} of ${limit}`;
    }
  }
  return { bytes, scratchBytes: storageBytes(floats[scratchRole]), skipped };
}

function checkShape(shape: AttentionBenchShape): void {
  for (const [name, value] of Object.entries(shape)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`attention benchmark: ${name} = ${value} is invalid: use a positive integer`);
    }
  }
}

/** Raised inside a measurement when the variant cannot run on this device. */
class SkipVariant extends Error {}

/** Records one compute pass holding every dispatch, with timestamps at its start and end when given. */
function encodePass(encoder: GPUCommandEncoder, dispatches: readonly Dispatch[], label: string, timestampWrites?: GPUComputePassTimestampWrites): void {
  const pass = encoder.beginComputePass({ label, timestampWrites });
  for (const d of dispatches) {
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(...d.workgroups);
  }
  pass.end();
}

/** Returns the mean milliseconds per run of the dispatches, after `warmup` untimed runs. */
async function timeDispatches(
  ctx: GpuContext, dispatches: readonly Dispatch[], label: string, repeats: number, warmup: number, timestamps: boolean,
): Promise<number> {
  const { device } = ctx;
  for (let i = 0; i < warmup; i++) {
    const encoder = device.createCommandEncoder({ label: `${label}: warmup` });
    encodePass(encoder, dispatches, `${label}: warmup pass`);
    device.queue.submit([encoder.finish()]);
  }
  await device.queue.onSubmittedWorkDone();

  if (!timestamps) {
    const start = performance.now();
    for (let i = 0; i < repeats; i++) {
      const encoder = device.createCommandEncoder({ label: `${label}: timed` });
      encodePass(encoder, dispatches, `${label}: timed pass`);
      device.queue.submit([encoder.finish()]);
    }
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - start) / repeats;
  }

  const querySet = device.createQuerySet({ label: `${label}: timestamps`, type: 'timestamp', count: 2 * repeats });
  try {
    const resolved = ctx.createBuffer(`${label}: resolved timestamps`, 16 * repeats, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC);
    const encoder = device.createCommandEncoder({ label: `${label}: timed` });
    for (let i = 0; i < repeats; i++) {
      encodePass(encoder, dispatches, `${label}: timed pass`, {
        querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1,
      });
    }
    encoder.resolveQuerySet(querySet, 0, 2 * repeats, resolved, 0);
    device.queue.submit([encoder.finish()]);
    const [data] = await readBuffers(device, [{ buffer: resolved, size: 16 * repeats }], label);
    const ticks = new BigUint64Array(data);
    let nanoseconds = 0;
    for (let i = 0; i < repeats; i++) nanoseconds += Number(ticks[2 * i + 1] - ticks[2 * i]);
    return nanoseconds / 1e6 / repeats;
  } finally {
    querySet.destroy();
  }
}

function randomFloats(rng: Rng, count: number): Float32Array {
  const a = new Float32Array(count);
  for (let i = 0; i < count; i++) a[i] = 2 * rng.uniform() - 1;
  return a;
}

interface VariantDispatches {
  forward: Dispatch[];
  backward: Dispatch[];
}

/** Allocates one variant's buffers in ctx, filled with seeded random inputs, and builds its dispatches. */
async function buildVariant(ctx: GpuContext, variant: AttentionVariant, s: AttentionBenchShape, label: string): Promise<VariantDispatches> {
  const rng = new Rng(1);
  const { batch: b, length: l, nHead, headDim } = s;
  const tokens = b * l * nHead * headDim;
  const q = ctx.upload(`${label}: q`, randomFloats(rng, tokens));
  const k = ctx.upload(`${label}: k`, randomFloats(rng, tokens));
  const v = ctx.upload(`${label}: v`, randomFloats(rng, tokens));
  const dout = ctx.upload(`${label}: dout`, randomFloats(rng, tokens));
  const out = ctx.createStorage(`${label}: out`, tokens);
  const lse = ctx.createStorage(`${label}: lse`, b * nHead * l);
  const dq = ctx.createStorage(`${label}: dq`, tokens);
  const dk = ctx.createStorage(`${label}: dk`, tokens);
  const dv = ctx.createStorage(`${label}: dv`, tokens);
  if (variant === 'tiled') {
    return {
      forward: [await attentionForward(ctx, out, lse, q, k, v, b, l, nHead, headDim, { label })],
      backward: await attentionBackward(ctx, dq, dk, dv, dout, q, k, v, out, lse, b, l, nHead, headDim, { label }),
    };
  }
  const probs = ctx.createStorage(`${label}: probs`, attentionNaiveProbsFloats(b, l, nHead));
  return {
    forward: await attentionNaiveForward(ctx, out, lse, probs, q, k, v, b, l, nHead, headDim, { label }),
    backward: await attentionNaiveBackward(ctx, dq, dk, dv, dout, q, k, v, out, probs, b, l, nHead, headDim, { label }),
  };
}

/** Builds one variant in its own context, times it and frees its buffers. */
async function measureVariant(
  device: GPUDevice, variant: AttentionVariant, shape: AttentionBenchShape, repeats: number, warmup: number, timestamps: boolean,
): Promise<AttentionTiming> {
  const ctx = new GpuContext(device);
  const label = `bench ${variant} attention`;
  try {
    device.pushErrorScope('out-of-memory');
    let built: VariantDispatches;
    try {
      built = await buildVariant(ctx, variant, shape, label);
    } catch (err) {
      await device.popErrorScope();
      throw err;
    }
    const memoryError = await device.popErrorScope();
    if (memoryError) throw new SkipVariant(`${variant} attention ran out of GPU memory: ${memoryError.message}`);

    // The naive backward overwrites its probabilities, so it is timed after a forward each time.
    const { forward, backward } = built;
    const forwardMs = await timeDispatches(ctx, forward, `${label} forward`, repeats, warmup, timestamps);
    const forwardBackwardMs = await timeDispatches(ctx, [...forward, ...backward], `${label} forward+backward`, repeats, warmup, timestamps);
    return { forwardMs, forwardBackwardMs };
  } finally {
    ctx.destroy();
  }
}

async function runVariant(
  device: GPUDevice, variant: AttentionVariant, shape: AttentionBenchShape, repeats: number, warmup: number, timestamps: boolean,
): Promise<AttentionVariantResult> {
  const plan = planAttentionVariant(device.limits, variant, shape);
  if (plan.skipped) return { ...plan, timing: null };
  try {
    return { ...plan, timing: await measureVariant(device, variant, shape, repeats, warmup, timestamps) };
  } catch (err) {
    // The wrappers raise RangeError for a shape beyond the device's dispatch or workgroup memory limits.
    if (err instanceof SkipVariant || err instanceof RangeError) return { ...plan, timing: null, skipped: err.message };
    throw err;
  }
}

/**
 * Times tiled and naive causal attention at one shape on `device`. A variant
 * whose buffers exceed the device's limits is skipped with its reason instead of
 * timed. Each variant allocates its buffers in its own GpuContext and frees them
 * before this returns.
 */
export async function benchAttentionKernels(
  device: GPUDevice, shape: AttentionBenchShape, options: AttentionBenchOptions = {},
): Promise<AttentionBenchResult> {
  checkShape(shape);
  const repeats = options.repeats ?? 10;
  const warmup = options.warmup ?? 2;
  if (!Number.isInteger(repeats) || repeats < 1) throw new RangeError(`attention benchmark: repeats = ${repeats} is invalid: use a positive integer`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`attention benchmark: warmup = ${warmup} is invalid: use 0 or more`);
  const timestamps = (options.method ?? 'auto') === 'auto' && device.features.has('timestamp-query');
  return {
    shape: { ...shape },
    method: timestamps ? 'timestamp-query' : 'wall-clock',
    repeats,
    tiled: await runVariant(device, 'tiled', shape, repeats, warmup, timestamps),
    naive: await runVariant(device, 'naive', shape, repeats, warmup, timestamps),
  };
}
