/**
 * The run config in the URL's query string, so that a link restores a run:
 * `?preset=selective-copying-small&task=selective-copying&engine=auto&vocab_size=16&…`.
 * Keys are the config's own field names. decodeRunQuery does not throw on bad input:
 * it reports a bad value for its key and uses the preset's value in its place.
 */
import { DEFAULT_PRESET, findPreset, PRESETS } from '../presets';
import type { EnginePreference, RunConfig } from '../protocol';
import { TASK_KINDS, type TaskKind } from '../tasks';
import { choicesForRun, CHOICES, formatChoice, isChoiceKey, parseChoice, type ChoiceKey, type ChoiceValue } from './choices';
import { fieldsForRun, formatFieldValue, isFieldKey, parseFieldText, validateRunFields, FIELDS, type FieldKey } from './fields';

export const ENGINE_PREFERENCES: readonly EnginePreference[] = ['auto', 'webgpu', 'cpu'];

/** Keys of the query string: the preset, the task kind, the engine, every choice and every field. */
export type LinkKey = FieldKey | ChoiceKey | 'preset' | 'task' | 'engine';

export type LinkErrors = Partial<Record<LinkKey, string>>;

export interface DecodedRun {
  run: RunConfig;
  /** One message per query key that is not a setting, such as a misspelt field name; the key was ignored. */
  unknownKeys: string[];
  /** One message per key whose value was rejected. The run has the preset's value for those keys. */
  errors: LinkErrors;
}

/** Returns the query string, without "?", for a run; fields of other tasks are left out. */
export function encodeRunQuery(run: RunConfig): string {
  const params = new URLSearchParams();
  params.set('preset', run.preset);
  params.set('task', run.task.kind);
  params.set('engine', run.engine);
  for (const choice of choicesForRun(run)) params.set(choice.key, formatChoice(choice.read(run)));
  for (const field of fieldsForRun(run)) params.set(field.key, formatFieldValue(field.read(run)));
  return params.toString();
}

/** Reads a run from a query string such as location.search, with or without "?". */
export function decodeRunQuery(search: string): DecodedRun {
  const params = new URLSearchParams(search);
  const errors: LinkErrors = {};

  const presetName = params.get('preset') ?? DEFAULT_PRESET;
  let preset = findPreset(presetName);
  if (!preset) {
    errors.preset = `preset = "${presetName}" is not known: use one of ${PRESETS.map((p) => p.name).join(', ')}`;
    preset = findPreset(DEFAULT_PRESET)!;
  }
  let base: RunConfig = copyRun(preset.run);

  const taskKind = params.get('task');
  if (taskKind !== null) {
    if (isTaskKind(taskKind)) base = withTaskKind(base, taskKind);
    else errors.task = `task = "${taskKind}" is not known: use ${TASK_KINDS.join(' or ')}`;
  }

  const engine = params.get('engine');
  if (engine !== null) {
    if (isEnginePreference(engine)) base = { ...base, engine };
    else errors.engine = `engine = "${engine}" is not known: use ${ENGINE_PREFERENCES.join(', ')}`;
  }

  // The architecture comes first, because it decides which other choices and fields apply.
  const architecture = params.get('architecture');
  if (architecture !== null) {
    const parsed = parseChoice('architecture', architecture);
    if ('error' in parsed) errors.architecture = parsed.error;
    else base = CHOICES[0].write(base, parsed.value);
  }
  const applicableChoices = new Set(choicesForRun(base).map((choice) => choice.key));
  for (const choice of CHOICES) {
    const text = params.get(choice.key);
    if (text === null || choice.key === 'architecture') continue;
    if (!applicableChoices.has(choice.key)) {
      errors[choice.key] = `${choice.key} does not apply to the ${base.model.architecture ?? 'mamba'} architecture, so it was ignored`;
      continue;
    }
    const parsed = parseChoice(choice.key, text);
    if ('error' in parsed) errors[choice.key] = parsed.error;
    else base = choice.write(base, parsed.value as ChoiceValue);
  }

  // Parse each field on its own first, so that a value that is not a number names its key.
  const applicable = new Set(fieldsForRun(base).map((field) => field.key));
  const fromLink = new Map<FieldKey, number>();
  for (const field of FIELDS) {
    const text = params.get(field.key);
    if (text === null) continue;
    if (!applicable.has(field.key)) {
      const owner = field.tasks && !field.tasks.includes(base.task.kind) ? `${base.task.kind} task` : `${base.model.architecture ?? 'mamba'} architecture`;
      errors[field.key] = `${field.key} does not apply to the ${owner}, so it was ignored`;
      continue;
    }
    const parsed = parseFieldText(field.key, text);
    if ('error' in parsed) errors[field.key] = parsed.error;
    else fromLink.set(field.key, parsed.value);
  }

  return { run: applyLinkFields(base, fromLink, errors), errors, unknownKeys: unknownKeyMessages(params) };
}

/**
 * Applies the link's field values to the preset's run, then drops values that fail
 * validation until the run is valid. A value that fails its own rule is dropped with
 * that rule's message. When the remaining errors sit on fields the link did not set,
 * such as the preset's n_data against the link's seq_len, every link value is dropped
 * and each one reports the conflict.
 */
function applyLinkFields(base: RunConfig, fromLink: Map<FieldKey, number>, errors: LinkErrors): RunConfig {
  const kept = new Map(fromLink);
  const build = () => {
    let run = base;
    for (const [key, value] of kept) run = FIELDS.find((field) => field.key === key)!.write(run, value);
    return run;
  };

  for (;;) {
    const run = build();
    const fieldErrors = validateRunFields(run);
    const failing = Object.keys(fieldErrors) as FieldKey[];
    // Presets are valid, so an empty `kept` ends the loop; the size check only guards it.
    if (failing.length === 0 || kept.size === 0) return run;

    const fromLinkFailing = failing.filter((key) => kept.has(key));
    if (fromLinkFailing.length > 0) {
      for (const key of fromLinkFailing) {
        errors[key] = fieldErrors[key];
        kept.delete(key);
      }
      continue;
    }

    const conflict = failing.map((key) => fieldErrors[key]).join('; ');
    for (const key of kept.keys()) errors[key] = `${key} = ${kept.get(key)} conflicts with other fields: ${conflict}`;
    kept.clear();
  }
}

/** Query keys that are not run settings but belong to the page, such as the comparison of the studio. */
const OTHER_PAGE_KEYS = ['compare'];

/** Lists the keys of a query string that are not settings, each with the closest setting's name when one is near. */
export function unknownKeyMessages(params: URLSearchParams): string[] {
  const known: string[] = ['preset', 'task', 'engine', ...CHOICES.map((choice) => choice.key), ...FIELDS.map((field) => field.key)];
  const messages: string[] = [];
  for (const key of new Set(params.keys())) {
    if (known.includes(key) || OTHER_PAGE_KEYS.includes(key)) continue;
    const nearest = known
      .map((name) => ({ name, distance: editDistance(key.toLowerCase(), name.toLowerCase()) }))
      .sort((a, b) => a.distance - b.distance)[0];
    const hint = nearest.distance <= 2 ? `: did you mean ${nearest.name}?` : ': it was ignored';
    messages.push(`${key} is not a setting${hint}`);
  }
  return messages;
}

/** Levenshtein distance: the fewest insertions, deletions and substitutions that turn a into b. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * Returns the link errors of fields and choices that this run does not have, such as
 * n_data for induction heads or d_state for a Transformer, as [key, message] pairs. No
 * input shows these fields, so the page lists their messages on their own.
 */
export function hiddenFieldLinkErrors(errors: LinkErrors, run: RunConfig): [FieldKey | ChoiceKey, string][] {
  const shown = new Set<string>([...fieldsForRun(run).map((field) => field.key), ...choicesForRun(run).map((choice) => choice.key)]);
  const hidden: [FieldKey | ChoiceKey, string][] = [];
  for (const [key, message] of Object.entries(errors)) {
    if ((isFieldKey(key) || isChoiceKey(key)) && !shown.has(key) && message !== undefined) hidden.push([key, message]);
  }
  return hidden;
}

/** Returns the run with another task kind, keeping the vocabulary size. */
export function withTaskKind(run: RunConfig, kind: TaskKind): RunConfig {
  if (run.task.kind === kind) return run;
  if (kind === 'induction-heads') return { ...run, task: { kind, vocab_size: run.task.vocab_size } };
  const fitting = Math.floor(run.train.seq_len / 2);
  return { ...run, task: { kind, vocab_size: run.task.vocab_size, n_data: Math.max(1, Math.min(8, fitting)) } };
}

export function isTaskKind(value: string): value is TaskKind {
  return (TASK_KINDS as readonly string[]).includes(value);
}

export function isEnginePreference(value: string): value is EnginePreference {
  return (ENGINE_PREFERENCES as readonly string[]).includes(value);
}

/** Returns a deep copy of a run config, which contains only JSON values. */
export function copyRun(run: RunConfig): RunConfig {
  return JSON.parse(JSON.stringify(run)) as RunConfig;
}
