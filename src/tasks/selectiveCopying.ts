/**
 * Selective copying, after Gu & Dao 2023, "Mamba: Linear-Time Sequence Modeling with
 * Selective State Spaces" (arXiv:2312.00752), section 4.1.1. Their setting is length
 * 4096, a vocabulary of 16 counting noise, and 16 data tokens per sequence.
 *
 * Vocabulary: token 0 is noise, token vocab_size - 1 is the marker, and tokens
 * 1 .. vocab_size - 2 are data. A sequence of length seq_len is a context of
 * seq_len - n_data tokens followed by n_data markers. The context contains n_data data
 * tokens at random positions, in ascending position order, with noise elsewhere. At
 * the i-th marker the model must output the i-th data token of the context.
 */
import { checkField, MODEL_RULES, type FieldError } from '../model/config';
import type { Rng } from '../model/random';
import type { SequenceBuffers, TokenRole } from './index';

export interface SelectiveCopyingTask {
  kind: 'selective-copying';
  vocab_size: number;
  n_data: number;
}

export const SELECTIVE_COPYING_LABEL = 'Selective copying';

/** Noise, one data token and the marker. */
const MIN_VOCAB_SIZE = 3;

/** Half of the largest seq_len, because the markers take as many positions as the data. */
const MAX_N_DATA = 4096;

/** Returns one error per invalid field. Skips the checks against seqLen when it is NaN. */
export function validateSelectiveCopying(task: SelectiveCopyingTask, seqLen: number): FieldError[] {
  const errors: FieldError[] = [];

  const vocabMessage = checkField('vocab_size', task.vocab_size, {
    ...MODEL_RULES.vocab_size,
    min: MIN_VOCAB_SIZE,
  });
  if (vocabMessage) {
    errors.push({
      field: 'vocab_size',
      message: `${vocabMessage} (selective copying needs noise, a marker and at least one data token)`,
    });
  }

  const nDataMessage = checkField('n_data', task.n_data, {
    min: 1,
    max: MAX_N_DATA,
    integer: true,
    example: 4,
    label: 'data tokens per sequence',
  });
  if (nDataMessage) {
    errors.push({ field: 'n_data', message: nDataMessage });
  } else if (Number.isInteger(seqLen) && seqLen < 2 * task.n_data) {
    const maxNData = Math.floor(seqLen / 2);
    const fix =
      maxNData >= 1
        ? `use n_data of at most ${maxNData}, or seq_len of at least ${2 * task.n_data}`
        : `use seq_len of at least ${2 * task.n_data}`;
    errors.push({
      field: 'n_data',
      message:
        `n_data = ${task.n_data} does not fit in seq_len = ${seqLen}: the sequence needs ` +
        `n_data data tokens in its context plus n_data markers, so seq_len must be at least 2 * n_data; ${fix}`,
    });
  }

  return errors;
}

/**
 * Writes one sequence into `out` (each array of length seqLen): tokens everywhere, and
 * targets and mask = 1 at the marker positions. Other targets are left for the caller,
 * and the other mask entries must already be 0. Draws the data positions first, then
 * the data tokens in order.
 */
export function fillSelectiveCopying(
  task: SelectiveCopyingTask,
  seqLen: number,
  rng: Rng,
  out: SequenceBuffers,
): void {
  const marker = task.vocab_size - 1;
  const dataTokenCount = task.vocab_size - 2;
  const contextLength = seqLen - task.n_data;

  const positions = rng.sortedSample(contextLength, task.n_data);
  out.tokens.fill(0, 0, contextLength);

  for (let i = 0; i < task.n_data; i++) {
    const dataToken = 1 + rng.int(dataTokenCount);
    const markerPosition = contextLength + i;
    out.tokens[positions[i]] = dataToken;
    out.tokens[markerPosition] = marker;
    out.targets[markerPosition] = dataToken;
    out.mask[markerPosition] = 1;
  }
}

export function selectiveCopyingRoles(task: SelectiveCopyingTask, tokens: Int32Array): TokenRole[] {
  const marker = task.vocab_size - 1;
  return Array.from(tokens, (token): TokenRole => {
    if (token === 0) return 'noise';
    if (token === marker) return 'marker';
    return 'data';
  });
}

/** "·" for noise, "▶" for the marker, the token id for data. */
export function describeSelectiveCopyingToken(task: SelectiveCopyingTask, token: number): string {
  if (token === 0) return '·';
  if (token === task.vocab_size - 1) return '▶';
  return String(token);
}
