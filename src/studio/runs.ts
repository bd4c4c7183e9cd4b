/**
 * Building the studio's runs: a new record from a config, one field or choice changed
 * on a copy, and a grid over one field's values, each checked with the same rules as
 * the Train view's inputs. Pure functions with no DOM, store or worker.
 */
import { countParameters } from '../model/models';
import type { RunConfig } from '../protocol';
import {
  choiceSpec, choicesForRun, formatChoice, isChoiceKey, parseChoice, type ChoiceKey, type ChoiceValue,
} from '../store/choices';
import { fieldSpec, fieldsForRun, MAX_STEPS_RULE, formatFieldValue, parseFieldText, validateRunFields, type FieldKey } from '../store/fields';
import { copyRun } from '../store/url';
import type { StudioRun } from './types';

/** A numeric field or a choice of a run config: what a duplicate changes and a grid varies. */
export type RunKey = FieldKey | ChoiceKey;

/** One field or choice set to one value, such as d_state = 1 or selective_delta = false. */
export type RunChange = { key: FieldKey; value: number } | { key: ChoiceKey; value: ChoiceValue };

/** Steps of a queued run when the Train view's config has no limit (max_steps = 0). */
export const DEFAULT_QUEUE_STEPS = 2000;

/** Returns a new random run id: a UUID where crypto.randomUUID exists, which needs a secure context, else 128 random bits in hex. */
export function newRunId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Builds the record of a run that has not trained yet. */
export function newStudioRun(config: RunConfig, name: string, id = newRunId(), createdAt = Date.now()): StudioRun {
  return {
    id,
    name,
    config: copyRun(config),
    status: 'queued',
    message: null,
    step: 0,
    metrics: [],
    probe: null,
    parameterCount: countParameters(config.model),
    engine: null,
    createdAt,
    elapsedMs: 0,
    paperAccuracy: null,
    paperRow: null,
    grid: null,
    paperCurve: null,
    extrapolation: null,
    checkpointStep: null,
    onHold: false,
  };
}

/**
 * Returns the messages that keep a config out of the queue: each field's rule and the
 * model and task checks (validateRunFields), and max_steps > 0, because a queued run
 * must end by itself.
 */
export function queuedRunErrors(config: RunConfig): string[] {
  const fieldErrors = validateRunFields(config);
  // A queued run must end by itself, so one message about its steps replaces the Train view's range for max_steps.
  delete fieldErrors.max_steps;
  const errors = Object.values(fieldErrors).filter((message): message is string => message !== undefined);
  const { max: maxSteps } = MAX_STEPS_RULE;
  if (!Number.isInteger(config.max_steps) || config.max_steps <= 0 || config.max_steps > maxSteps) {
    errors.push(
      `steps per run (max_steps) = ${config.max_steps} is invalid for a queued run: use an integer from 1 to ${maxSteps}, such as ${DEFAULT_QUEUE_STEPS}`,
    );
  }
  return errors;
}

/** True when the run config has this field or choice: d_state only for Mamba, n_head only for a Transformer. */
export function runHasKey(config: RunConfig, key: RunKey): boolean {
  if (isChoiceKey(key)) return choicesForRun(config).some((choice) => choice.key === key);
  return fieldsForRun(config).some((field) => field.key === key);
}

/** Keys that can change on a run: its fields, then its choices. */
export function runKeys(config: RunConfig): RunKey[] {
  return [...fieldsForRun(config).map((field) => field.key), ...choicesForRun(config).map((choice) => choice.key)];
}

/** Reads a field's or choice's value from a run config. */
export function readKey(config: RunConfig, key: RunKey): number | ChoiceValue {
  return isChoiceKey(key) ? choiceSpec(key).read(config) : fieldSpec(key).read(config);
}

/** Formats a value as the runs list shows it: a number as typed, a choice by its label, such as "fixed (S4)". */
export function formatKeyValue(key: RunKey, value: number | ChoiceValue): string {
  if (!isChoiceKey(key)) return formatFieldValue(value as number);
  const option = choiceSpec(key).options.find((o) => o.value === value);
  return option ? option.label : formatChoice(value as ChoiceValue);
}

function keyMissingError(config: RunConfig, key: RunKey): string {
  const architecture = config.model.architecture === 'transformer' ? 'Transformer' : 'Mamba';
  return `${key} does not apply to a ${architecture} run on ${config.task.kind}: choose one of ${runKeys(config).join(', ')}`;
}

/**
 * Returns the config with one field or choice changed, or an error when the run has no
 * such field, such as d_state on a Transformer. The result is not validated.
 */
export function applyChange(config: RunConfig, change: RunChange): { config: RunConfig } | { error: string } {
  if (!runHasKey(config, change.key)) return { error: keyMissingError(config, change.key) };
  if (isChoiceKey(change.key)) return { config: choiceSpec(change.key).write(config, change.value as ChoiceValue) };
  return { config: fieldSpec(change.key).write(config, change.value as number) };
}

/**
 * Checks a changed config and returns one message per problem, each naming the change,
 * such as "d_state = 100: d_state = 100 is out of range: …" or, when the change breaks
 * another field, "seq_len = 8: n_data = 8 is invalid: …".
 */
export function changeErrors(change: RunChange, config: RunConfig): string[] {
  const label = `${change.key} = ${isChoiceKey(change.key) ? formatChoice(change.value as ChoiceValue) : formatFieldValue(change.value as number)}`;
  return queuedRunErrors(config).map((message) => (message.startsWith(`${label} `) ? message : `${label}: ${message}`));
}

/**
 * Parses the values of a grid, separated by commas or spaces, such as "1, 2, 4, 8, 16"
 * for d_state or "true, false" for selective_delta. Returns the values that parse, and
 * one message per value that does not parse or repeats.
 */
export function parseGridValues(key: RunKey, text: string): { values: (number | ChoiceValue)[]; errors: string[] } {
  // With a comma, values are split at commas only, because choice labels have spaces, such as "fixed (S4)".
  const separated = text.includes(',') ? text.split(',').map((part) => part.trim()) : text.trim().split(/\s+/);
  if (separated.some((part) => part !== '') && separated.some((part) => part === '')) {
    return { values: [], errors: [`the values of ${key} have an empty entry between commas: remove the extra comma in "${text.trim()}"`] };
  }
  const parts = separated.filter((part) => part !== '');
  if (parts.length === 0) {
    const example = isChoiceKey(key) ? choiceSpec(key).options.map((o) => formatChoice(o.value)).join(', ') : '1, 2, 4';
    return { values: [], errors: [`the values of ${key} are empty: type them separated by commas, such as ${example}`] };
  }
  const values: (number | ChoiceValue)[] = [];
  const errors: string[] = [];
  for (const part of parts) {
    const parsed = isChoiceKey(key) ? parseChoice(key, part) : parseFieldText(key, part);
    if ('error' in parsed) {
      errors.push(parsed.error);
      continue;
    }
    if (values.includes(parsed.value)) {
      errors.push(`${key} = ${part} appears twice: list each value once`);
      continue;
    }
    values.push(parsed.value);
  }
  return { values, errors };
}

/** One point of a grid: a value of the field or choice, and the config with that value. */
export interface GridPoint {
  value: number | ChoiceValue;
  config: RunConfig;
}

/**
 * Builds one config per value of a grid over one field or choice of `base`. Every
 * value is checked, and when any is rejected the result carries every message and no
 * points, so that a grid is added whole or not at all.
 */
export function gridConfigs(base: RunConfig, key: RunKey, text: string): { points: GridPoint[] } | { errors: string[] } {
  if (!runHasKey(base, key)) return { errors: [keyMissingError(base, key)] };
  const parsed = parseGridValues(key, text);
  const points: GridPoint[] = [];
  const errors = [...parsed.errors];
  for (const value of parsed.values) {
    const change = { key, value } as RunChange;
    const applied = applyChange(base, change);
    if ('error' in applied) return { errors: [applied.error] };
    const problems = changeErrors(change, applied.config);
    if (problems.length > 0) errors.push(...problems);
    else points.push({ value, config: applied.config });
  }
  return errors.length > 0 ? { errors } : { points };
}
