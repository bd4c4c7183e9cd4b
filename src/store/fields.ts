/**
 * The editable numeric fields of a run config: where each lives in RunConfig, its
 * validation rule, and how the text typed into it is checked. Pure functions with no
 * DOM or store, shared by the config slice and the URL codec.
 */
import {
  checkField, ConfigError, MODEL_RULES, TRAIN_RULES, validateTrainConfig, type Architecture, type FieldRule,
} from '../model/config';
import { MAX_LEN_RULE, N_HEAD_RULE, type TransformerConfig } from '../model/transformer';
import { checkModelForLength, resolveModelConfig } from '../model/models';
import type { RunConfig } from '../protocol';
import { validateTask, type TaskKind } from '../tasks';

export type FieldKey =
  | 'vocab_size'
  | 'n_data'
  | 'd_model'
  | 'n_layer'
  | 'd_state'
  | 'expand'
  | 'd_conv'
  | 'n_head'
  | 'max_len'
  | 'learning_rate'
  | 'batch_size'
  | 'seq_len'
  | 'seed'
  | 'weight_decay'
  | 'grad_clip'
  | 'max_steps';

export interface FieldSpec {
  key: FieldKey;
  /** Short help shown next to the name, such as "width of the residual stream". */
  help: string;
  group: 'task' | 'model' | 'training' | 'advanced';
  rule: FieldRule;
  /** Tasks that have this field; undefined means every task. */
  tasks?: TaskKind[];
  /** Architectures that have this field; undefined means both. */
  architectures?: Architecture[];
  read(run: RunConfig): number;
  write(run: RunConfig, value: number): RunConfig;
}

/** Rule for n_data here matches the task's own check, which also bounds it by seq_len / 2. */
const N_DATA_RULE: FieldRule = { min: 1, max: 4096, integer: true, example: 4, label: 'data tokens per sequence' };

/**
 * Both tasks need at least 3 tokens: selective copying uses noise, a marker and one data
 * token, and induction heads a trigger and two other tokens. The tasks check this
 * themselves; the field's rule states it so that every message quotes the same range.
 */
const VOCAB_SIZE_RULE: FieldRule = { ...MODEL_RULES.vocab_size, min: 3 };

/** The trainer accepts any non-negative integer; the upper bound here only catches typing mistakes. */
export const MAX_STEPS_RULE: FieldRule = { min: 0, max: 10_000_000, integer: true, example: 2000, label: 'maximum steps' };

function modelField(
  key: Exclude<keyof typeof MODEL_RULES, 'vocab_size'>, help: string, group: FieldSpec['group'], architectures?: Architecture[],
): FieldSpec {
  return {
    key,
    help,
    group,
    architectures,
    rule: MODEL_RULES[key],
    read: (run) => (run.model as unknown as Record<string, number>)[key],
    write: (run, value) => ({ ...run, model: { ...run.model, [key]: value } }),
  };
}

function transformerField(key: 'n_head' | 'max_len', help: string, group: FieldSpec['group'], rule: FieldRule): FieldSpec {
  return {
    key,
    help,
    group,
    rule,
    architectures: ['transformer'],
    read: (run) => (run.model as TransformerConfig)[key],
    write: (run, value) => ({ ...run, model: { ...(run.model as TransformerConfig), [key]: value } }),
  };
}

function trainField(key: keyof typeof TRAIN_RULES, help: string, group: FieldSpec['group']): FieldSpec {
  return {
    key,
    help,
    group,
    rule: TRAIN_RULES[key],
    read: (run) => run.train[key],
    write: (run, value) => ({ ...run, train: { ...run.train, [key]: value } }),
  };
}

export const FIELDS: FieldSpec[] = [
  {
    key: 'vocab_size',
    help: 'tokens in the vocabulary',
    group: 'task',
    rule: VOCAB_SIZE_RULE,
    read: (run) => run.task.vocab_size,
    // The model's embedding must match the task's vocabulary, so both change together.
    write: (run, value) => ({
      ...run,
      task: { ...run.task, vocab_size: value },
      model: { ...run.model, vocab_size: value },
    }),
  },
  {
    key: 'n_data',
    help: 'data tokens to copy per sequence',
    group: 'task',
    rule: N_DATA_RULE,
    tasks: ['selective-copying'],
    read: (run) => (run.task.kind === 'selective-copying' ? run.task.n_data : NaN),
    write: (run, value) => (run.task.kind === 'selective-copying' ? { ...run, task: { ...run.task, n_data: value } } : run),
  },
  modelField('d_model', 'width of the residual stream', 'model'),
  modelField('n_layer', 'blocks in the stack', 'model'),
  modelField('d_state', 'state size per channel', 'model', ['mamba']),
  modelField('expand', 'd_inner = expand · d_model', 'model', ['mamba']),
  transformerField('n_head', 'attention heads, dividing d_model', 'model', N_HEAD_RULE),
  trainField('learning_rate', 'AdamW step size', 'training'),
  trainField('batch_size', 'sequences per step', 'training'),
  trainField('seq_len', 'tokens per sequence', 'training'),
  trainField('seed', 'initial weights and data', 'training'),
  modelField('d_conv', 'causal convolution width', 'advanced', ['mamba']),
  transformerField('max_len', 'positions the absolute table covers', 'advanced', MAX_LEN_RULE),
  trainField('weight_decay', 'AdamW weight decay', 'advanced'),
  trainField('grad_clip', 'gradient norm clip, 0 for none', 'advanced'),
  {
    key: 'max_steps',
    help: 'stop after this many steps, 0 for no limit',
    group: 'advanced',
    rule: MAX_STEPS_RULE,
    read: (run) => run.max_steps,
    write: (run, value) => ({ ...run, max_steps: value }),
  },
];

export const FIELD_KEYS: FieldKey[] = FIELDS.map((field) => field.key);

export function fieldSpec(key: FieldKey): FieldSpec {
  const spec = FIELDS.find((field) => field.key === key);
  if (!spec) throw new RangeError(`field ${key} is unknown`);
  return spec;
}

/** Fields shown for a task kind and an architecture. */
export function fieldsFor(kind: TaskKind, architecture: Architecture): FieldSpec[] {
  return FIELDS.filter(
    (field) => (!field.tasks || field.tasks.includes(kind)) && (!field.architectures || field.architectures.includes(architecture)),
  );
}

/** Fields shown for a run: those of its task and its model's architecture. */
export function fieldsForRun(run: RunConfig): FieldSpec[] {
  return fieldsFor(run.task.kind, run.model.architecture ?? 'mamba');
}

export type FieldTexts = Partial<Record<FieldKey, string>>;
export type FieldErrors = Partial<Record<FieldKey, string>>;

/** Formats a field's value the way it is shown in the input and in URLs. */
export function formatFieldValue(value: number): string {
  return Number.isFinite(value) ? String(value) : '';
}

/** Returns the text of every field of a run, as the inputs show them. */
export function fieldTexts(run: RunConfig): FieldTexts {
  const texts: FieldTexts = {};
  for (const field of fieldsForRun(run)) texts[field.key] = formatFieldValue(field.read(run));
  return texts;
}

/** An integer or decimal fraction in digits, such as 64, -1, 0.5 or .5. */
const PLAIN_DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)$/;
/** A plain decimal with an optional exponent, such as 3e-3, for fields that are not integers. */
const DECIMAL_WITH_EXPONENT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses the text of one field. Integer fields take plain decimal digits, and the other
 * fields also take an exponent (3e-3). Hexadecimal, binary and octal literals such as
 * 0x10 are rejected even though Number() reads them. Returns the number, or an error
 * message that quotes the text and the allowed range. Range checks happen in
 * validateRunFields, with the other fields.
 */
export function parseFieldText(key: FieldKey, text: string): { value: number } | { error: string } {
  const rule = fieldSpec(key).rule;
  const trimmed = text.trim();
  const fix = `use ${rule.integer ? 'an integer' : 'a number'} from ${rule.min} to ${rule.max}, such as ${rule.example}`;
  if (trimmed === '') return { error: `${key} is empty: ${fix}` };

  const pattern = rule.integer ? PLAIN_DECIMAL : DECIMAL_WITH_EXPONENT;
  if (!pattern.test(trimmed)) {
    // Text that Number() reads, such as 0x10 or 1e1 in an integer field, gets a message on how to write it.
    if (!Number.isFinite(Number(trimmed))) return { error: `${key} = "${trimmed}" is not a number: ${fix}` };
    const written = rule.integer ? 'in decimal digits' : 'as a decimal number';
    return { error: `${key} = "${trimmed}" is not written ${written}: ${fix}` };
  }
  return { value: Number(trimmed) };
}

/**
 * Returns the text a field shows for what was typed once it is parsed, such as "0.003"
 * for "3e-3" or "16" for "016", so the field, the URL and the run show the same value.
 * Returns the text unchanged when it does not parse.
 */
export function normalizeFieldText(key: FieldKey, text: string): string {
  const parsed = parseFieldText(key, text);
  return 'error' in parsed ? text : formatFieldValue(parsed.value);
}

/**
 * Checks a whole run and returns one message per failing field. The task's own checks
 * come first, because their messages also give the reason for a limit, such as the
 * smallest vocab_size. Each field's rule comes next, then the model and training checks
 * from src/model/config, and the first message for a field wins. The task's checks also
 * catch fields that conflict, such as n_data against seq_len.
 */
export function validateRunFields(run: RunConfig): FieldErrors {
  const errors: FieldErrors = {};
  const add = (field: string, message: string) => {
    if (isFieldKey(field) && !errors[field]) errors[field] = message;
  };

  for (const fieldError of validateTask(run.task, run.train.seq_len)) add(fieldError.field, fieldError.message);

  for (const field of fieldsForRun(run)) {
    const message = checkField(field.key, field.read(run), field.rule);
    if (message) add(field.key, message);
  }

  const checkLength = () => {
    const errors = checkModelForLength(resolveModelConfig(run.model), run.train.seq_len);
    if (errors.length > 0) throw new ConfigError(errors);
  };
  for (const check of [() => resolveModelConfig(run.model), () => validateTrainConfig(run.train), checkLength]) {
    try {
      check();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const fieldError of error.errors) add(fieldError.field, fieldError.message);
    }
  }
  return errors;
}

export function isFieldKey(name: string): name is FieldKey {
  return (FIELD_KEYS as string[]).includes(name);
}

/**
 * Builds a run from the texts of the inputs on top of `base`, the last valid run.
 * Returns the run and one message per failing field; the run is valid only when
 * there are no errors. A text that is not a number keeps its own message.
 */
export function runFromTexts(base: RunConfig, texts: FieldTexts): { run: RunConfig; errors: FieldErrors } {
  const parseErrors: FieldErrors = {};
  let run = base;
  for (const field of fieldsForRun(base)) {
    const text = texts[field.key];
    if (text === undefined) continue;
    const parsed = parseFieldText(field.key, text);
    if ('error' in parsed) parseErrors[field.key] = parsed.error;
    else run = field.write(run, parsed.value);
  }
  const errors = { ...validateRunFields(run), ...parseErrors };
  return { run, errors };
}
