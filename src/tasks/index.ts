/**
 * Synthetic tasks for next-token training. targets[t] is the token the model should
 * output at position t, and loss and accuracy count only positions where mask is 1
 * (the answer positions). At every other position the target is the next input token,
 * or 0 at the last position, so it is always a valid token id but carries no weight.
 *
 * Generation uses only the seeded Rng, so the same seed gives the same batches in the
 * browser and under Node.
 */
import { checkField, ConfigError, TRAIN_RULES, type FieldError } from '../model/config';
import { Rng } from '../model/random';
import type { Batch } from '../engine/types';
import {
  describeSelectiveCopyingToken,
  fillSelectiveCopying,
  SELECTIVE_COPYING_LABEL,
  selectiveCopyingRoles,
  validateSelectiveCopying,
  type SelectiveCopyingTask,
} from './selectiveCopying';
import {
  describeInductionHeadsToken,
  fillInductionHeads,
  INDUCTION_HEADS_LABEL,
  inductionHeadsRoles,
  validateInductionHeads,
  type InductionHeadsTask,
} from './inductionHeads';

export type { SelectiveCopyingTask, InductionHeadsTask };

export type TaskConfig = SelectiveCopyingTask | InductionHeadsTask;

export type TaskKind = TaskConfig['kind'];

export const TASK_KINDS: readonly TaskKind[] = ['selective-copying', 'induction-heads'];

/**
 * Role of a token, used to color the probe sequence. Selective copying uses noise,
 * data and marker, and induction heads uses token, trigger and recall.
 */
export type TokenRole = 'noise' | 'data' | 'marker' | 'token' | 'trigger' | 'recall';

/** Arrays of one sequence, each of length seq_len. */
export interface SequenceBuffers {
  tokens: Int32Array;
  targets: Int32Array;
  mask: Float32Array;
}

/** One sequence with the role of each token. */
export interface TaskSequence extends SequenceBuffers {
  roles: TokenRole[];
}

/** Returns one error per invalid field (kind, vocab_size, n_data, seq_len), or [] when the task fits seqLen. */
export function validateTask(task: TaskConfig, seqLen: number): FieldError[] {
  if (typeof task !== 'object' || task === null || !TASK_KINDS.includes(task.kind)) {
    const kind = typeof task === 'object' && task !== null ? String((task as { kind?: unknown }).kind) : String(task);
    return [
      {
        field: 'kind',
        message: `task kind '${kind}' is unknown: use ${TASK_KINDS.map((k) => `'${k}'`).join(' or ')}`,
      },
    ];
  }

  const errors: FieldError[] = [];
  const seqLenMessage = checkField('seq_len', seqLen, TRAIN_RULES.seq_len);
  if (seqLenMessage) errors.push({ field: 'seq_len', message: seqLenMessage });

  // NaN makes the task skip its checks against seq_len, which is reported above.
  const checkedSeqLen = seqLenMessage ? Number.NaN : seqLen;
  if (task.kind === 'selective-copying') {
    errors.push(...validateSelectiveCopying(task, checkedSeqLen));
  } else {
    errors.push(...validateInductionHeads(task, checkedSeqLen));
  }
  return errors;
}

/**
 * Draws batchSize sequences, token-major (batchSize, seqLen), from rng.
 * Throws ConfigError when the task, batchSize or seqLen is invalid.
 */
export function generateBatch(task: TaskConfig, batchSize: number, seqLen: number, rng: Rng): Batch {
  const errors = validateTask(task, seqLen);
  const batchMessage = checkField('batch_size', batchSize, TRAIN_RULES.batch_size);
  if (batchMessage) errors.push({ field: 'batch_size', message: batchMessage });
  if (errors.length > 0) throw new ConfigError(errors);

  const size = batchSize * seqLen;
  const inputs = new Int32Array(size);
  const targets = new Int32Array(size);
  const mask = new Float32Array(size);
  for (let b = 0; b < batchSize; b++) {
    const start = b * seqLen;
    const end = start + seqLen;
    fillSequence(task, seqLen, rng, {
      tokens: inputs.subarray(start, end),
      targets: targets.subarray(start, end),
      mask: mask.subarray(start, end),
    });
  }
  return { inputs, targets, mask };
}

/**
 * Returns the fixed sequence shown in the Δ heatmap: one sequence drawn from a fresh
 * Rng(seed), so it does not change while training runs. Throws ConfigError when the
 * task or seqLen is invalid.
 */
export function probeSequence(task: TaskConfig, seqLen: number, seed: number): TaskSequence {
  const errors = validateTask(task, seqLen);
  if (errors.length > 0) throw new ConfigError(errors);

  const sequence: SequenceBuffers = {
    tokens: new Int32Array(seqLen),
    targets: new Int32Array(seqLen),
    mask: new Float32Array(seqLen),
  };
  fillSequence(task, seqLen, new Rng(seed), sequence);

  const roles =
    task.kind === 'selective-copying'
      ? selectiveCopyingRoles(task, sequence.tokens)
      : inductionHeadsRoles(task, sequence.tokens);
  return { ...sequence, roles };
}

/** Returns the task's display name, such as "Selective copying". */
export function taskLabel(task: TaskConfig): string {
  return task.kind === 'selective-copying' ? SELECTIVE_COPYING_LABEL : INDUCTION_HEADS_LABEL;
}

/**
 * Returns a short axis label for a token: "·" for noise, "▶" for the marker, "T" for
 * the trigger, and the token id otherwise. Throws RangeError for an id outside the
 * vocabulary.
 */
export function describeToken(task: TaskConfig, token: number): string {
  if (!Number.isInteger(token) || token < 0 || token >= task.vocab_size) {
    throw new RangeError(
      `token = ${token} is invalid: use an integer from 0 to ${task.vocab_size - 1} (vocab_size - 1)`,
    );
  }
  return task.kind === 'selective-copying'
    ? describeSelectiveCopyingToken(task, token)
    : describeInductionHeadsToken(task, token);
}

/** Fills one sequence of a valid task, then sets each unmasked target to the next input token. */
function fillSequence(task: TaskConfig, seqLen: number, rng: Rng, out: SequenceBuffers): void {
  if (task.kind === 'selective-copying') fillSelectiveCopying(task, seqLen, rng, out);
  else fillInductionHeads(task, seqLen, rng, out);

  for (let t = 0; t < seqLen; t++) {
    if (out.mask[t] !== 0) continue;
    out.targets[t] = t + 1 < seqLen ? out.tokens[t + 1] : 0;
  }
}
