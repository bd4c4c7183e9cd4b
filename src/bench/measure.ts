/**
 * GPU measurement helpers of the memory and speed sweep: timing a command list
 * with timestamp queries or the wall clock, and running work inside error
 * scopes so that a failed allocation becomes a reason to skip.
 */
import type { Command } from '../engine/webgpu/context';
import type { MemorySpeedResult } from './memorySpeedTypes';

export type Timing = MemorySpeedResult['timing'];

/** Formats a byte count with two significant digits in decimal units, such as "4.3 GB". */
export function formatBytes(bytes: number): string {
  const units: [number, string][] = [[1e9, 'GB'], [1e6, 'MB'], [1e3, 'kB']];
  for (const [size, unit] of units) {
    if (bytes >= size) return `${Number((bytes / size).toPrecision(2))} ${unit}`;
  }
  return `${bytes} B`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Records the commands, one compute pass per run of consecutive dispatches, with
 * a timestamp at the start of the first pass and at the end of the last.
 */
function encodeRun(encoder: GPUCommandEncoder, commands: readonly Command[], label: string, stamps?: { querySet: GPUQuerySet; begin: number; end: number }): void {
  let passes = 0;
  for (let i = 0; i < commands.length; i++) {
    if (commands[i].kind === 'dispatch' && (i === 0 || commands[i - 1].kind !== 'dispatch')) passes++;
  }
  let pass: GPUComputePassEncoder | null = null;
  let passIndex = 0;
  for (const command of commands) {
    if (command.kind === 'dispatch') {
      if (!pass) {
        const timestampWrites: GPUComputePassTimestampWrites | undefined = stamps && (passIndex === 0 || passIndex === passes - 1)
          ? {
            querySet: stamps.querySet,
            beginningOfPassWriteIndex: passIndex === 0 ? stamps.begin : undefined,
            endOfPassWriteIndex: passIndex === passes - 1 ? stamps.end : undefined,
          }
          : undefined;
        pass = encoder.beginComputePass({ label, timestampWrites });
        passIndex++;
      }
      pass.setPipeline(command.pipeline);
      pass.setBindGroup(0, command.bindGroup);
      pass.dispatchWorkgroups(...command.workgroups);
      continue;
    }
    pass?.end();
    pass = null;
    if (command.kind === 'copy') encoder.copyBufferToBuffer(command.source, 0, command.destination, 0, command.size);
    else encoder.clearBuffer(command.buffer);
  }
  pass?.end();
}

/**
 * Returns the median milliseconds of one run of the commands over `repeats`
 * runs, after one untimed run. A run encodes the commands `steps` times, and the
 * time is divided by `steps`, so that tiny decoding steps are timed in bulk.
 */
export async function timeCommands(
  device: GPUDevice, timing: Timing, commands: readonly Command[], repeats: number, label: string, steps = 1,
): Promise<number> {
  const run = Array.from({ length: steps }, () => commands).flat();
  if (!run.some((c) => c.kind === 'dispatch')) throw new Error(`${label}: nothing to time`);
  const untimed = device.createCommandEncoder({ label: `${label}: untimed run` });
  encodeRun(untimed, run, `${label}: untimed run`);
  device.queue.submit([untimed.finish()]);
  await device.queue.onSubmittedWorkDone();

  const times: number[] = [];
  if (timing === 'wall-clock') {
    for (let r = 0; r < repeats; r++) {
      const encoder = device.createCommandEncoder({ label: `${label}: timed run` });
      encodeRun(encoder, run, `${label}: timed run`);
      const start = performance.now();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      times.push((performance.now() - start) / steps);
    }
    return median(times);
  }

  const querySet = device.createQuerySet({ label: `${label}: timestamps`, type: 'timestamp', count: 2 * repeats });
  const resolved = device.createBuffer({
    label: `${label}: resolved timestamps`, size: 16 * repeats, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
  });
  const staging = device.createBuffer({ label: `${label}: timestamps staging`, size: 16 * repeats, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const encoder = device.createCommandEncoder({ label: `${label}: timed runs` });
    for (let r = 0; r < repeats; r++) encodeRun(encoder, run, `${label}: timed run`, { querySet, begin: 2 * r, end: 2 * r + 1 });
    encoder.resolveQuerySet(querySet, 0, 2 * repeats, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, staging, 0, 16 * repeats);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const stamps = new BigUint64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    // Timestamps count nanoseconds.
    for (let r = 0; r < repeats; r++) times.push(Number(stamps[2 * r + 1] - stamps[2 * r]) / 1e6 / steps);
    return median(times);
  } finally {
    querySet.destroy();
    resolved.destroy();
    staging.destroy();
  }
}

// ---------------------------------------------------------------- guarded work

export type Guarded<T> = { value: T } | { skipped: string };

/**
 * Runs `work` inside out-of-memory, validation and internal error scopes. It
 * returns the reason to skip in place of the value when `work` raises a
 * RangeError, which GpuContext and the kernel wrappers raise for a size beyond a
 * device limit. It does the same when the device reports an error, and then the
 * out-of-memory reason names `bytes`, the estimate of what was allocated.
 */
export async function guarded<T>(device: GPUDevice, bytes: number, work: () => Promise<T>): Promise<Guarded<T>> {
  const filters: GPUErrorFilter[] = ['out-of-memory', 'validation', 'internal'];
  for (const filter of filters) device.pushErrorScope(filter);
  let result: Guarded<T>;
  try {
    result = { value: await work() };
  } catch (err) {
    if (!(err instanceof RangeError)) {
      for (let i = 0; i < filters.length; i++) await device.popErrorScope();
      throw err;
    }
    result = { skipped: err.message };
  }
  const reasons: string[] = [];
  // Scopes pop in reverse order of pushing: internal, validation, out-of-memory.
  for (const filter of [...filters].reverse()) {
    const error = await device.popErrorScope();
    if (!error) continue;
    // Dawn's messages go on with the call that failed and its source location; the first line names the error.
    const message = error.message.split('\n')[0];
    reasons.push(filter === 'out-of-memory'
      ? `exceeds device memory (needs ${formatBytes(bytes)}, and allocating it failed: ${message})`
      : `the device reported ${filter === 'internal' ? 'an internal' : 'a validation'} error: ${message}`);
  }
  return reasons.length > 0 ? { skipped: reasons.reverse().join('; ') } : result;
}
