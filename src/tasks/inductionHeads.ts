/**
 * Induction heads (associative recall of one pair): token vocab_size - 1 is the
 * trigger and every other token is drawn uniformly from 0 .. vocab_size - 2. The
 * trigger appears at a random position p in [0, seq_len - 3], followed by the recall
 * token at p + 1, and again at the last position. At the last position the model must
 * output the recall token. The trigger appears exactly twice in each sequence.
 */
import { checkField, MODEL_RULES, TRAIN_RULES, type FieldError } from '../model/config';
import type { Rng } from '../model/random';
import type { SequenceBuffers, TokenRole } from './index';

export interface InductionHeadsTask {
  kind: 'induction-heads';
  vocab_size: number;
}

export const INDUCTION_HEADS_LABEL = 'Induction heads';

/** The trigger plus at least two other tokens, so the recall token is not always the same. */
const MIN_VOCAB_SIZE = 3;

/** Trigger, recall token, at least one other token, and the final trigger. */
const MIN_SEQ_LEN = 4;

/** Returns one error per invalid field. Skips the checks against seqLen when it is NaN. */
export function validateInductionHeads(task: InductionHeadsTask, seqLen: number): FieldError[] {
  const errors: FieldError[] = [];

  const vocabMessage = checkField('vocab_size', task.vocab_size, {
    ...MODEL_RULES.vocab_size,
    min: MIN_VOCAB_SIZE,
  });
  if (vocabMessage) {
    errors.push({
      field: 'vocab_size',
      message: `${vocabMessage} (induction heads needs a trigger and at least two other tokens)`,
    });
  }

  if (Number.isInteger(seqLen) && seqLen < MIN_SEQ_LEN) {
    errors.push({
      field: 'seq_len',
      message:
        `seq_len = ${seqLen} is too short for induction heads: use an integer from ${MIN_SEQ_LEN} ` +
        `to ${TRAIN_RULES.seq_len.max}, such as ${TRAIN_RULES.seq_len.example}`,
    });
  }

  return errors;
}

/**
 * Writes one sequence into `out` (each array of length seqLen): tokens everywhere, and
 * the target and mask = 1 at the last position. Other targets are left for the caller,
 * and the other mask entries must already be 0. Draws all tokens first, then the
 * trigger position.
 */
export function fillInductionHeads(task: InductionHeadsTask, seqLen: number, rng: Rng, out: SequenceBuffers): void {
  const trigger = task.vocab_size - 1;
  for (let t = 0; t < seqLen; t++) out.tokens[t] = rng.int(trigger);

  // p + 1 <= seqLen - 2 keeps the recall token off the final trigger.
  const triggerPosition = rng.int(seqLen - 2);
  out.tokens[triggerPosition] = trigger;
  out.tokens[seqLen - 1] = trigger;
  out.targets[seqLen - 1] = out.tokens[triggerPosition + 1];
  out.mask[seqLen - 1] = 1;
}

/** Roles from the tokens alone: the first trigger is followed by the recall token. */
export function inductionHeadsRoles(task: InductionHeadsTask, tokens: Int32Array): TokenRole[] {
  const trigger = task.vocab_size - 1;
  const roles: TokenRole[] = Array.from(tokens, (token): TokenRole => (token === trigger ? 'trigger' : 'token'));
  const firstTrigger = tokens.indexOf(trigger);
  if (firstTrigger >= 0 && firstTrigger + 1 < tokens.length - 1) roles[firstTrigger + 1] = 'recall';
  return roles;
}

/** "T" for the trigger, the token id otherwise. */
export function describeInductionHeadsToken(task: InductionHeadsTask, token: number): string {
  return token === task.vocab_size - 1 ? 'T' : String(token);
}
