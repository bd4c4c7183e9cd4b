/**
 * Host-side steps that every WebGPU engine shares, whatever its model: checking and
 * uploading a training batch, reading the metrics that the loss kernel accumulates,
 * and turning probe logits into predictions.
 */
import type { TrainConfig } from '../../model/config';
import { ADAMW } from '../../model/optimizer';
import { checkTrainingState, type Batch, type StepMetrics, type TrainingState } from '../types';
import { readBuffers } from './context';
import { stepUniformData } from './kernels';

/** Checks that every id of a token array is a valid index into the vocabulary. */
export function checkIds(field: string, ids: Int32Array, vocab: number): void {
  for (let i = 0; i < ids.length; i++) {
    if (!(ids[i] >= 0 && ids[i] < vocab)) {
      throw new RangeError(`${field}[${i}] = ${ids[i]} is outside the vocabulary: use ids from 0 to ${vocab - 1}`);
    }
  }
}

/** Buffers that one training step reads from the host. */
export interface StepInputBuffers {
  ids: GPUBuffer;
  targets: GPUBuffer;
  mask: GPUBuffer;
  /** The step uniform: learning rate, step, loss scale and AdamW's betas. */
  step: GPUBuffer;
}

/**
 * Checks a batch against the run's sizes and vocabulary, then writes it and the
 * step uniform into the buffers. Throws RangeError naming the bad value.
 */
export function writeStepInputs(
  queue: GPUQueue, buffers: StepInputBuffers, batch: Batch, train: TrainConfig, vocab: number, step: number, learningRate: number,
): void {
  const count = train.batch_size * train.seq_len;
  if (batch.inputs.length !== count || batch.targets.length !== count || batch.mask.length !== count) {
    throw new RangeError(
      `batch has ${batch.inputs.length} inputs, ${batch.targets.length} targets and ${batch.mask.length} mask values; ` +
      `batch_size · seq_len = ${count} of each is needed`,
    );
  }
  if (!Number.isInteger(step) || step < 1) throw new RangeError(`step = ${step} is invalid: steps count from 1`);
  checkIds('inputs', batch.inputs, vocab);
  checkIds('targets', batch.targets, vocab);

  let maskSum = 0;
  for (let i = 0; i < count; i++) maskSum += batch.mask[i];
  queue.writeBuffer(buffers.ids, 0, batch.inputs);
  queue.writeBuffer(buffers.targets, 0, batch.targets);
  queue.writeBuffer(buffers.mask, 0, batch.mask);
  queue.writeBuffer(buffers.step, 0, stepUniformData({
    learningRate, step, lossScale: maskSum > 0 ? 1 / maskSum : 0, beta1: ADAMW.beta1, beta2: ADAMW.beta2,
  }));
}

/** Reads the loss, hit and answer sums accumulated since the last read, clears them, and returns the averages. */
export async function readStepMetrics(device: GPUDevice, metrics: GPUBuffer): Promise<StepMetrics> {
  const [data] = await readBuffers(device, [{ buffer: metrics, size: 16 }], 'engine: metrics', (encoder) => encoder.clearBuffer(metrics));
  const [lossSum, correctSum, maskSum, steps] = new Float32Array(data);
  return {
    loss: maskSum > 0 ? lossSum / maskSum : NaN,
    accuracy: maskSum > 0 ? correctSum / maskSum : NaN,
    steps: Math.round(steps),
  };
}

/** Returns the argmax of each of `rows` rows of logits; ties go to the lowest index, as in the CPU engine. */
export function argmaxRows(logits: Float32Array, rows: number, vocab: number): Int32Array {
  const predictions = new Int32Array(rows);
  for (let t = 0; t < rows; t++) {
    let best = 0;
    for (let v = 1; v < vocab; v++) if (logits[t * vocab + v] > logits[t * vocab + best]) best = v;
    predictions[t] = best;
  }
  return predictions;
}

/** The buffers that hold what an engine learns, each of `size` floats. */
export interface TrainingStateBuffers {
  params: GPUBuffer;
  m: GPUBuffer;
  v: GPUBuffer;
  size: number;
}

/** Reads the parameters and AdamW's moments back in one copy. */
export async function readTrainingState(device: GPUDevice, buffers: TrainingStateBuffers): Promise<TrainingState> {
  const bytes = buffers.size * 4;
  const [params, m, v] = await readBuffers(
    device,
    [{ buffer: buffers.params, size: bytes }, { buffer: buffers.m, size: bytes }, { buffer: buffers.v, size: bytes }],
    'engine: training state',
  );
  return { params: new Float32Array(params), m: new Float32Array(m), v: new Float32Array(v) };
}

/** Checks the state's sizes, then writes it into the buffers ahead of the next step. */
export function writeTrainingState(queue: GPUQueue, buffers: TrainingStateBuffers, state: TrainingState): void {
  checkTrainingState(state, buffers.size);
  queue.writeBuffer(buffers.params, 0, state.params);
  queue.writeBuffer(buffers.m, 0, state.m);
  queue.writeBuffer(buffers.v, 0, state.v);
}
