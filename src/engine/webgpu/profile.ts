/**
 * GPU time per kernel of one training step, from timestamp queries. Builds the
 * same buffers and command lists as the WebGPU engine (graph.ts) on a device
 * that has the 'timestamp-query' feature, and encodes each dispatch in a
 * compute pass of its own so that the pass can carry timestamps.
 */
import type { ResolvedConfig, TrainConfig } from '../../model/config';
import { ADAMW } from '../../model/optimizer';
import { buildLayout } from '../../model/params';
import type { Batch } from '../types';
import { GpuContext, type Command, type Dispatch } from './context';
import { allocateForward, allocateTraining, forwardCommands, trainCommands, type ScanKind } from './graph';
import { stepUniformData } from './kernels';

/** GPU time of one kernel family, summed over its dispatches in a step. */
export interface KernelTiming {
  /** Entry point name, such as 'matmul'. */
  kernel: string;
  dispatches: number;
  /** Milliseconds per step: the sum over dispatches of each dispatch's minimum over the repeats. */
  ms: number;
}

export interface StepProfile {
  /** Families sorted by time, largest first. */
  kernels: KernelTiming[];
  /** Sum of every dispatch's time. */
  totalMs: number;
}

/** Kernel name of a dispatch, from labels of the form 'kernel: call site role'. */
function kernelOf(dispatch: Dispatch): string {
  return dispatch.label.slice(0, dispatch.label.indexOf(':'));
}

/**
 * Runs one training step `repeats` times on `device` and returns the GPU time
 * of each kernel family. Every repeat updates the parameters, as a training
 * step does. The device must have the 'timestamp-query' feature; the buffers
 * this creates are destroyed before it returns.
 */
export async function profileTrainingStep(
  device: GPUDevice, config: ResolvedConfig, train: TrainConfig, initialParams: Float32Array, batch: Batch, repeats: number,
  scan: ScanKind = 'fused',
): Promise<StepProfile> {
  if (!device.features.has('timestamp-query')) {
    throw new Error("the device lacks the 'timestamp-query' feature that per-kernel profiling needs");
  }
  const layout = buildLayout(config);
  const ctx = new GpuContext(device);
  try {
    const params = ctx.upload('profile: params', initialParams);
    const fb = allocateForward(ctx, config, train.batch_size, train.seq_len, 'profile', scan);
    const tb = allocateTraining(ctx, config, layout, train.batch_size, train.seq_len, scan);
    const commands: Command[] = [
      ...(await forwardCommands(ctx, config, layout, params, fb, 'profile')),
      ...(await trainCommands(ctx, config, layout, params, fb, tb, { weightDecay: train.weight_decay, gradClip: train.grad_clip })),
    ];

    let maskSum = 0;
    for (const m of batch.mask) maskSum += m;
    device.queue.writeBuffer(fb.ids, 0, batch.inputs);
    device.queue.writeBuffer(tb.targets, 0, batch.targets);
    device.queue.writeBuffer(tb.mask, 0, batch.mask);

    const dispatches = commands.filter((c): c is Dispatch => c.kind === 'dispatch');
    const querySet = device.createQuerySet({ label: 'profile: timestamps', type: 'timestamp', count: 2 * dispatches.length });
    const resolved = ctx.createBuffer('profile: resolved timestamps', 16 * dispatches.length,
      GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC);
    const best = new Array<number>(dispatches.length).fill(Infinity);
    try {
      for (let repeat = 0; repeat < repeats; repeat++) {
        device.queue.writeBuffer(tb.step, 0, stepUniformData({
          learningRate: train.learning_rate, step: repeat + 1, lossScale: maskSum > 0 ? 1 / maskSum : 0,
          beta1: ADAMW.beta1, beta2: ADAMW.beta2,
        }));
        const times = await timeDispatches(device, commands, querySet, resolved);
        times.forEach((ms, i) => {
          best[i] = Math.min(best[i], ms);
        });
      }
    } finally {
      querySet.destroy();
    }

    const byKernel = new Map<string, KernelTiming>();
    dispatches.forEach((dispatch, i) => {
      const kernel = kernelOf(dispatch);
      const timing = byKernel.get(kernel) ?? { kernel, dispatches: 0, ms: 0 };
      timing.dispatches++;
      timing.ms += best[i];
      byKernel.set(kernel, timing);
    });
    const kernels = [...byKernel.values()].sort((a, b) => b.ms - a.ms);
    return { kernels, totalMs: kernels.reduce((sum, k) => sum + k.ms, 0) };
  } finally {
    ctx.destroy();
  }
}

/** Encodes the commands with timestamps around every dispatch, submits them and returns each dispatch's milliseconds. */
async function timeDispatches(
  device: GPUDevice, commands: readonly Command[], querySet: GPUQuerySet, resolved: GPUBuffer,
): Promise<number[]> {
  const encoder = device.createCommandEncoder({ label: 'profile: step' });
  let query = 0;
  for (const command of commands) {
    if (command.kind === 'dispatch') {
      const pass = encoder.beginComputePass({
        label: command.label,
        timestampWrites: { querySet, beginningOfPassWriteIndex: query, endOfPassWriteIndex: query + 1 },
      });
      pass.setPipeline(command.pipeline);
      pass.setBindGroup(0, command.bindGroup);
      pass.dispatchWorkgroups(...command.workgroups);
      pass.end();
      query += 2;
    } else if (command.kind === 'copy') {
      encoder.copyBufferToBuffer(command.source, 0, command.destination, 0, command.size);
    } else {
      encoder.clearBuffer(command.buffer);
    }
  }
  encoder.resolveQuerySet(querySet, 0, query, resolved, 0);
  const staging = device.createBuffer({
    label: 'profile: timestamps staging', size: query * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    encoder.copyBufferToBuffer(resolved, 0, staging, 0, query * 8);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const stamps = new BigInt64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    const times: number[] = [];
    // Timestamps are in nanoseconds.
    for (let i = 0; i < query; i += 2) times.push(Number(stamps[i + 1] - stamps[i]) / 1e6);
    return times;
  } finally {
    staging.destroy();
  }
}
