/**
 * The selective scan benchmark. For each sequence length at batch 1 it times the
 * fused scan (forward, and forward + backward) and the materializing scan that
 * writes Ā and B̄u as (l, d_inner, d_state) tensors. It also times a copy kernel
 * that moves the bytes the fused forward pass must read and write. It takes a
 * GPUDevice, so the browser and the Node command line (src/cli/bench.ts) run
 * the same code.
 *
 * Times are medians over the repeats, after one untimed run that builds the
 * pipelines. With the timestamp-query feature they are GPU timestamps written
 * at the start and end of one compute pass holding all of a variant's
 * dispatches. Without it they are wall times from submit to onSubmittedWorkDone.
 */
import { spreadGroups, GpuContext, readBuffers, type Dispatch } from '../engine/webgpu/context';
import * as fused from '../engine/webgpu/fusedScan';
import { makeDispatch, type ScanShape } from '../engine/webgpu/kernels';
import * as materializing from '../engine/webgpu/materializingScan';
import { Rng } from '../model/random';

export type ScanTiming = 'gpu-timestamps' | 'wall';

/** Names of the timed variants, as the JSON fields spell them without "_ms". */
export type ScanVariant = 'fused_fwd' | 'fused_fwd_bwd' | 'materializing_fwd' | 'materializing_fwd_bwd' | 'copy';

/** One sequence length; a time is null when its variant did not fit the device, with the reason in skipped. */
export interface ScanBenchPoint {
  length: number;
  fused_fwd_ms: number | null;
  fused_fwd_bwd_ms: number | null;
  materializing_fwd_ms: number | null;
  materializing_fwd_bwd_ms: number | null;
  copy_ms: number | null;
  /** Bytes that the fused forward pass must read and write; the copy kernel moves the same. */
  bytes: number;
  skipped?: Partial<Record<ScanVariant, string>>;
}

export interface ScanBenchResult {
  bench: 'scan';
  device: string;
  d_inner: number;
  d_state: number;
  timing: ScanTiming;
  points: ScanBenchPoint[];
}

export interface ScanBenchOptions {
  lengths: readonly number[];
  dInner: number;
  dState: number;
  /** Timed runs of each variant, after one untimed run. */
  repeats: number;
  /** Receives each point as soon as it is measured. */
  onPoint?: (point: ScanBenchPoint) => void;
}

/** Floats of the random block that tiles each input buffer, so that the host does not draw every float of a large input. */
const FILL_BLOCK = 1 << 20;

/** Runs the benchmark on the device; deviceName only labels the result. */
export async function runScanBench(device: GPUDevice, deviceName: string, options: ScanBenchOptions): Promise<ScanBenchResult> {
  const timing: ScanTiming = device.features.has('timestamp-query') ? 'gpu-timestamps' : 'wall';
  const points: ScanBenchPoint[] = [];
  for (const length of options.lengths) {
    const point = await measureLength(device, timing, length, options);
    points.push(point);
    options.onPoint?.(point);
  }
  return { bench: 'scan', device: deviceName, d_inner: options.dInner, d_state: options.dState, timing, points };
}

/** Bytes that the fused forward pass reads (u, Δ, z, B, C and the parameters) and writes (out, y and the chunk states). */
export function fusedForwardBytes(dims: Pick<ScanShape, 'b' | 'l' | 'd' | 'n'>, plan: fused.FusedScanPlan): { read: number; written: number } {
  const { b, l, d, n } = dims;
  const read = 3 * b * l * d + 2 * b * l * n + d * (n + 2);
  const written = 2 * b * l * d + b * plan.chunks * d * n;
  return { read: 4 * read, written: 4 * written };
}

async function measureLength(device: GPUDevice, timing: ScanTiming, length: number, options: ScanBenchOptions): Promise<ScanBenchPoint> {
  const { dInner: d, dState: n, repeats } = options;
  const dims: ScanShape = { b: 1, l: length, d, n, rowStride: 2 * n, bColumn: 0, cColumn: n };
  const plan = fused.planFusedScan(device.limits, dims);
  const bytes = fusedForwardBytes(dims, plan);
  const point: ScanBenchPoint = {
    length, fused_fwd_ms: null, fused_fwd_bwd_ms: null, materializing_fwd_ms: null, materializing_fwd_bwd_ms: null, copy_ms: null,
    bytes: bytes.read + bytes.written,
  };
  const skipped: Partial<Record<ScanVariant, string>> = {};

  // Every variant's buffers live in a context of their own, destroyed before the next variant allocates.
  const shared = new GpuContext(device);
  try {
    const inputs = await attempt(device, async () => allocateInputs(shared, dims));
    if ('skipped' in inputs) {
      skip(skipped, ['fused_fwd', 'fused_fwd_bwd', 'materializing_fwd', 'materializing_fwd_bwd', 'copy'], `inputs do not fit: ${inputs.skipped}`);
    } else {
      await timeFused(device, timing, dims, plan, inputs.value, repeats, point, skipped);
      await timeMaterializing(device, timing, dims, inputs.value, repeats, point, skipped);
      await timeCopy(device, timing, bytes, repeats, point, skipped);
    }
  } finally {
    shared.destroy();
  }
  if (Object.keys(skipped).length > 0) point.skipped = skipped;
  return point;
}

interface BenchInputs {
  tensors: fused.FusedScanTensors;
  dout: GPUBuffer;
  grads: { A_log: { buffer: GPUBuffer; offset: number }; D: { buffer: GPUBuffer; offset: number }; deltaBias: { buffer: GPUBuffer; offset: number } };
}

/** Creates the scan inputs with values of the model's scale, tiled from seeded random blocks. */
function allocateInputs(ctx: GpuContext, dims: ScanShape): BenchInputs {
  const { b, l, d, n } = dims;
  const rng = new Rng(1);
  const tokens = b * l * d;
  const filled = (role: string, floats: number, low: number, high: number) => {
    const buffer = ctx.createStorage(`scan bench: ${role}`, floats);
    fillTiled(ctx.device, buffer, floats, rng, low, high);
    return buffer;
  };

  // A_log = log(1..n) as the model initialises it, D = 1, and Δ's bias the inverse softplus of about 0.01 to 0.1.
  const params = new Float32Array(d * n + 2 * d);
  for (let c = 0; c < d; c++) {
    for (let s = 0; s < n; s++) params[c * n + s] = Math.log(s + 1);
    params[d * n + c] = 1;
    params[d * n + d + c] = Math.log(Math.expm1(0.01 + 0.09 * rng.uniform()));
  }
  const paramBuffer = ctx.upload('scan bench: params', params);
  const gradBuffer = ctx.createStorage('scan bench: grads', params.length);
  const tensor = (buffer: GPUBuffer, offset: number) => ({ buffer, offset });
  return {
    tensors: {
      u: filled('u', tokens, -1, 1),
      delta: filled('deltaRaw', tokens, -1, 1),
      z: filled('z', tokens, -2, 2),
      xdbl: filled('xdbl', b * l * dims.rowStride, -1, 1),
      A_log: tensor(paramBuffer, 0), D: tensor(paramBuffer, d * n), deltaBias: tensor(paramBuffer, d * n + d),
    },
    dout: filled('dout', tokens, -1, 1),
    grads: { A_log: tensor(gradBuffer, 0), D: tensor(gradBuffer, d * n), deltaBias: tensor(gradBuffer, d * n + d) },
  };
}

/** Writes uniform values in [low, high) into the buffer, repeating one random block of FILL_BLOCK floats. */
export function fillTiled(device: GPUDevice, buffer: GPUBuffer, floats: number, rng: Rng, low: number, high: number): void {
  const block = new Float32Array(Math.min(FILL_BLOCK, floats));
  for (let i = 0; i < block.length; i++) block[i] = low + (high - low) * rng.uniform();
  for (let start = 0; start < floats; start += block.length) {
    const count = Math.min(block.length, floats - start);
    device.queue.writeBuffer(buffer, start * 4, block.buffer, 0, count * 4);
  }
}

type Skippable<T> = { value: T } | { skipped: string };

const ERROR_FILTERS: GPUErrorFilter[] = ['validation', 'out-of-memory', 'internal'];

/**
 * Runs `work` inside error scopes, and returns the reason to skip a variant in
 * place of its value in two cases. Either `work` raises a RangeError, which
 * GpuContext raises for a buffer over a device limit, or the device reports an
 * error, such as running out of memory for a buffer within the limits.
 */
async function attempt<T>(device: GPUDevice, work: () => Promise<T>): Promise<Skippable<T>> {
  for (const filter of ERROR_FILTERS) device.pushErrorScope(filter);
  let result: Skippable<T>;
  try {
    result = { value: await work() };
  } catch (err) {
    if (!(err instanceof RangeError)) {
      for (let i = 0; i < ERROR_FILTERS.length; i++) await device.popErrorScope();
      throw err;
    }
    result = { skipped: err.message };
  }
  const errors: string[] = [];
  for (let i = 0; i < ERROR_FILTERS.length; i++) {
    const error = await device.popErrorScope();
    // Dawn's messages go on with the call that failed and its source location; the first line names the error.
    if (error) errors.push(error.message.split('\n')[0]);
  }
  if (errors.length > 0) return { skipped: `the device reported an error: ${errors.join('; ')}` };
  return result;
}

function skip(skipped: Partial<Record<ScanVariant, string>>, variants: ScanVariant[], reason: string): void {
  for (const variant of variants) skipped[variant] ??= reason;
}

async function timeFused(
  device: GPUDevice, timing: ScanTiming, dims: ScanShape, plan: fused.FusedScanPlan, inputs: BenchInputs, repeats: number,
  point: ScanBenchPoint, skipped: Partial<Record<ScanVariant, string>>,
): Promise<void> {
  const ctx = new GpuContext(device);
  try {
    const tokens = dims.b * dims.l * dims.d;
    const forward = await attempt(device, async () => {
      const out = ctx.createStorage('scan bench: fused out', tokens);
      const workspace = ctx.createStorage('scan bench: fused workspace', plan.workspace.total);
      const dispatch = await fused.selectiveScanFusedForward(ctx, out, null, workspace, inputs.tensors, dims, plan, { label: 'bench' });
      return { dispatch, workspace, ms: await timeDispatches(device, timing, [dispatch], repeats) };
    });
    if ('skipped' in forward) {
      skip(skipped, ['fused_fwd', 'fused_fwd_bwd'], forward.skipped);
      return;
    }
    point.fused_fwd_ms = forward.value.ms;

    const backward = await attempt(device, async () => {
      const tokenGrads = ctx.createStorage('scan bench: fused token grads', fused.fusedScanTokenGradFloats(dims));
      const dXdbl = ctx.createStorage('scan bench: fused dXdbl', dims.b * dims.l * dims.rowStride);
      const g: fused.FusedScanGradTensors = { ...fused.fusedScanTokenGrads(tokenGrads, dims), dXdbl, ...inputs.grads };
      const dispatches = await fused.selectiveScanFusedBackward(ctx, g, inputs.dout, forward.value.workspace, inputs.tensors, dims, plan,
        { label: 'bench' });
      return timeDispatches(device, timing, [forward.value.dispatch, ...dispatches], repeats);
    });
    if ('skipped' in backward) {
      skip(skipped, ['fused_fwd_bwd'], backward.skipped);
      return;
    }
    point.fused_fwd_bwd_ms = backward.value;
  } finally {
    ctx.destroy();
  }
}

async function timeMaterializing(
  device: GPUDevice, timing: ScanTiming, dims: ScanShape, inputs: BenchInputs, repeats: number,
  point: ScanBenchPoint, skipped: Partial<Record<ScanVariant, string>>,
): Promise<void> {
  const ctx = new GpuContext(device);
  try {
    const tokens = dims.b * dims.l * dims.d;
    const forward = await attempt(device, async () => {
      const buffers = materializing.allocateMaterializingScan(ctx, dims, 'bench');
      const out = ctx.createStorage('scan bench: materializing out', tokens);
      const dispatches = await materializing.selectiveScanMaterializingForward(ctx, out, buffers, inputs.tensors, dims, { label: 'bench' });
      return { dispatches, buffers, ms: await timeDispatches(device, timing, dispatches, repeats) };
    });
    if ('skipped' in forward) {
      skip(skipped, ['materializing_fwd', 'materializing_fwd_bwd'], forward.skipped);
      return;
    }
    point.materializing_fwd_ms = forward.value.ms;

    const backward = await attempt(device, async () => {
      const tokenGrads = ctx.createStorage('scan bench: materializing token grads', fused.fusedScanTokenGradFloats(dims));
      const dXdbl = ctx.createStorage('scan bench: materializing dXdbl', dims.b * dims.l * dims.rowStride);
      const g: fused.FusedScanGradTensors = { ...fused.fusedScanTokenGrads(tokenGrads, dims), dXdbl, ...inputs.grads };
      const dispatches = await materializing.selectiveScanMaterializingBackward(ctx, g, inputs.dout, forward.value.buffers,
        inputs.tensors, dims, { label: 'bench' });
      return timeDispatches(device, timing, [...forward.value.dispatches, ...dispatches], repeats);
    });
    if ('skipped' in backward) {
      skip(skipped, ['materializing_fwd_bwd'], backward.skipped);
      return;
    }
    point.materializing_fwd_bwd_ms = backward.value;
  } finally {
    ctx.destroy();
  }
}

/** Invocations per workgroup of memory_copy. */
const COPY_WORKGROUP = 256;

async function timeCopy(
  device: GPUDevice, timing: ScanTiming, bytes: { read: number; written: number }, repeats: number,
  point: ScanBenchPoint, skipped: Partial<Record<ScanVariant, string>>,
): Promise<void> {
  const ctx = new GpuContext(device);
  try {
    const copy = await attempt(device, async () => {
      // memory_copy moves vec4f, so each side rounds up to 16 bytes.
      const srcCount = Math.ceil(bytes.read / 16);
      const dstCount = Math.ceil(bytes.written / 16);
      const src = ctx.createStorage('scan bench: copy src', 4 * srcCount);
      const dst = ctx.createStorage('scan bench: copy dst', 4 * dstCount);
      const dispatch = await makeDispatch(ctx, 'memory_copy', { label: 'bench' }, [srcCount, dstCount, 0, 0], [dst, src],
        spreadGroups(device, Math.ceil(dstCount / COPY_WORKGROUP), 'copy'), { WG: COPY_WORKGROUP });
      return timeDispatches(device, timing, [dispatch], repeats);
    });
    if ('skipped' in copy) {
      skip(skipped, ['copy'], copy.skipped);
      return;
    }
    point.copy_ms = copy.value;
  } finally {
    ctx.destroy();
  }
}

function encodePass(encoder: GPUCommandEncoder, dispatches: readonly Dispatch[], timestampWrites?: GPUComputePassTimestampWrites): void {
  const pass = encoder.beginComputePass({ label: 'scan bench: pass', timestampWrites });
  for (const dispatch of dispatches) {
    pass.setPipeline(dispatch.pipeline);
    pass.setBindGroup(0, dispatch.bindGroup);
    pass.dispatchWorkgroups(...dispatch.workgroups);
  }
  pass.end();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Returns the median time in milliseconds of running the dispatches in one compute pass. */
async function timeDispatches(device: GPUDevice, timing: ScanTiming, dispatches: readonly Dispatch[], repeats: number): Promise<number> {
  const untimed = device.createCommandEncoder({ label: 'scan bench: untimed run' });
  encodePass(untimed, dispatches);
  device.queue.submit([untimed.finish()]);
  await device.queue.onSubmittedWorkDone();

  const times: number[] = [];
  if (timing === 'wall') {
    for (let r = 0; r < repeats; r++) {
      const encoder = device.createCommandEncoder({ label: 'scan bench: timed run' });
      encodePass(encoder, dispatches);
      const start = performance.now();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      times.push(performance.now() - start);
    }
    return median(times);
  }

  const querySet = device.createQuerySet({ label: 'scan bench: timestamps', type: 'timestamp', count: 2 * repeats });
  const resolved = device.createBuffer({
    label: 'scan bench: resolved timestamps', size: 16 * repeats, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
  });
  try {
    const encoder = device.createCommandEncoder({ label: 'scan bench: timed runs' });
    for (let r = 0; r < repeats; r++) {
      encodePass(encoder, dispatches, { querySet, beginningOfPassWriteIndex: 2 * r, endOfPassWriteIndex: 2 * r + 1 });
    }
    encoder.resolveQuerySet(querySet, 0, 2 * repeats, resolved, 0);
    device.queue.submit([encoder.finish()]);
    const [data] = await readBuffers(device, [{ buffer: resolved, size: 16 * repeats }], 'scan bench: timestamps');
    const stamps = new BigUint64Array(data);
    for (let r = 0; r < repeats; r++) times.push(Number(stamps[2 * r + 1] - stamps[2 * r]) / 1e6);
    return median(times);
  } finally {
    querySet.destroy();
    resolved.destroy();
  }
}
