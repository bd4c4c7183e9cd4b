/**
 * Helpers for the kernel tests: a Dawn device per test file, seeded random
 * inputs, running commands and reading results back.
 */
import { Rng } from '../../model/random';
import { assertClose, FLOAT32_TOLERANCE, type Tolerance } from '../../testing/compare';
import { encodeCommands, GpuContext, readFloats, type Command } from './context';
import { requestNodeDevice } from './node';

export interface GpuFixture {
  device: GPUDevice;
  ctx: GpuContext;
  /** Destroys the context's buffers and the device. */
  close(): void;
}

export async function openGpu(): Promise<GpuFixture> {
  const { device } = await requestNodeDevice();
  const ctx = new GpuContext(device);
  return {
    device,
    ctx,
    close() {
      ctx.destroy();
      device.destroy();
    },
  };
}

/** Encodes and submits commands, then reads back each named buffer as `count` floats. */
export async function runAndRead(ctx: GpuContext, commands: Command[], reads: Record<string, [GPUBuffer, number]>) {
  const encoder = ctx.device.createCommandEncoder({ label: 'test: commands' });
  encodeCommands(encoder, commands, 'test: pass');
  ctx.device.queue.submit([encoder.finish()]);
  const out: Record<string, Float32Array> = {};
  for (const [name, [buffer, count]] of Object.entries(reads)) out[name] = await readFloats(ctx.device, buffer, count);
  return out;
}

/** Uniform floats in [−scale, scale). */
export function randomArray(rng: Rng, length: number, scale = 1): Float32Array {
  const a = new Float32Array(length);
  for (let i = 0; i < length; i++) a[i] = (2 * rng.uniform() - 1) * scale;
  return a;
}

export function randomIds(rng: Rng, length: number, vocab: number): Int32Array {
  const a = new Int32Array(length);
  for (let i = 0; i < length; i++) a[i] = rng.int(vocab);
  return a;
}

/** Throws with the tensor name, first bad index, both values and the max abs diff. */
export function expectClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance = FLOAT32_TOLERANCE): void {
  assertClose(name, got, want, tol);
}
