/**
 * Names runs by what sets them apart: given several run configs, finds the task, the
 * choices and the numeric fields whose values differ between them, such as
 * "d_state = 1" against "d_state = 16" or "selective_delta: fixed (S4)", and builds
 * each run's legend label from those. Pure functions with no DOM or store.
 */
import type { RunConfig } from '../protocol';
import { taskLabel } from '../tasks';
import { choiceSpec, choicesForRun, CHOICES, formatChoice, isChoiceKey, type ChoiceKey, type ChoiceSpec } from '../store/choices';
import { fieldsForRun, FIELDS, formatFieldValue, type FieldKey, type FieldSpec } from '../store/fields';
import { readKey, runKeys, formatKeyValue, type RunKey } from './runs';

/** Subject of a difference: the task kind, the engine, a choice or a numeric field. */
export type DifferenceKey = 'task' | 'engine' | ChoiceKey | FieldKey;

export interface ConfigDifference {
  key: DifferenceKey;
  /** Text for a legend or a table, such as "d_state = 16", "selective_delta: fixed (S4)" or "Transformer". */
  text: string;
}

/** Most differences a legend label lists before it ends with "+N more". */
export const LABEL_DIFFERENCES = 3;

/** Short architecture names for labels; the controls use the longer ARCHITECTURE_LABELS. */
const ARCHITECTURE_NAMES: Record<string, string> = { mamba: 'Mamba', transformer: 'Transformer' };

/**
 * One aspect of a run config that two runs may disagree on. `read` returns a text that
 * is equal for equal values, or null when the aspect does not apply to the run, such
 * as d_state for a Transformer.
 */
interface Aspect {
  key: DifferenceKey;
  read(run: RunConfig): string | null;
  describe(run: RunConfig): string;
}

function choiceAspect(spec: ChoiceSpec): Aspect {
  const applies = (run: RunConfig) => choicesForRun(run).some((choice) => choice.key === spec.key);
  return {
    key: spec.key,
    read: (run) => (applies(run) ? formatChoice(spec.read(run)) : null),
    describe: (run) => {
      const value = spec.read(run);
      if (spec.key === 'architecture') return ARCHITECTURE_NAMES[String(value)] ?? String(value);
      const option = spec.options.find((o) => o.value === value);
      return `${spec.key}: ${option ? option.label : formatChoice(value)}`;
    },
  };
}

function fieldAspect(spec: FieldSpec): Aspect {
  const applies = (run: RunConfig) => fieldsForRun(run).some((field) => field.key === spec.key);
  return {
    key: spec.key,
    read: (run) => (applies(run) ? formatFieldValue(spec.read(run)) : null),
    describe: (run) => `${spec.key} = ${formatFieldValue(spec.read(run))}`,
  };
}

/**
 * Every aspect in the order labels list them: the task, the architecture and the other
 * choices, the numeric fields as the controls order them, then the engine.
 */
const ASPECTS: Aspect[] = [
  { key: 'task', read: (run) => run.task.kind, describe: (run) => taskLabel(run.task) },
  choiceAspect(choiceSpec('architecture')),
  ...CHOICES.filter((choice) => choice.key !== 'architecture').map(choiceAspect),
  ...FIELDS.map(fieldAspect),
  { key: 'engine', read: (run) => run.engine, describe: (run) => `engine = ${run.engine}` },
];

/**
 * Returns the keys whose values differ between the runs, in label order. An aspect
 * differs when the runs it applies to have at least two values. A field that only some
 * runs have, such as d_state beside a Transformer, differs only when those runs disagree,
 * because the architecture already distinguishes the others.
 */
export function differingKeys(runs: RunConfig[]): DifferenceKey[] {
  return ASPECTS.filter((aspect) => {
    const values = new Set<string>();
    for (const run of runs) {
      const value = aspect.read(run);
      if (value !== null) values.add(value);
    }
    return values.size > 1;
  }).map((aspect) => aspect.key);
}

/**
 * Returns, for each run, the differing aspects that apply to it. Aspects with more
 * distinct values come first, and ties keep label order. So the field that a grid
 * varies over many values leads a label and is not cut off by "+N more".
 */
export function listDifferences(runs: RunConfig[]): ConfigDifference[][] {
  const keys = new Set(differingKeys(runs));
  const distinct = (aspect: Aspect) => new Set(runs.map((run) => aspect.read(run)).filter((value) => value !== null)).size;
  const aspects = ASPECTS.filter((aspect) => keys.has(aspect.key))
    .map((aspect) => ({ aspect, count: distinct(aspect) }))
    .sort((a, b) => b.count - a.count)
    .map(({ aspect }) => aspect);
  return runs.map((run) =>
    aspects.filter((aspect) => aspect.read(run) !== null).map((aspect) => ({ key: aspect.key, text: aspect.describe(run) })),
  );
}

/** Joins differences into a label: at most `max` of them, then "+N more". */
export function formatDifferences(differences: ConfigDifference[], max = LABEL_DIFFERENCES): string {
  const shown = differences.slice(0, Math.max(1, max)).map((difference) => difference.text);
  const rest = differences.length - shown.length;
  return rest > 0 ? `${shown.join(', ')} +${rest} more` : shown.join(', ');
}

/** A run as labels need it: its config and its display name. */
export interface NamedConfig {
  config: RunConfig;
  name: string;
}

/**
 * Builds one legend label per run from what differs between the runs. A run that
 * differs in nothing, such as the only run or one of two identical configs, gets its
 * name. Labels that would still repeat get the run's name after them, and then
 * "#2", "#3" … so that every series in a legend has its own label.
 */
export function runLabels(runs: NamedConfig[], max = LABEL_DIFFERENCES): string[] {
  const differences = listDifferences(runs.map((run) => run.config));
  const labels = runs.map((run, i) => (differences[i].length > 0 ? formatDifferences(differences[i], max) : run.name));

  const counts = countValues(labels);
  const named = labels.map((label, i) => (counts.get(label)! > 1 && label !== runs[i].name ? `${label} · ${runs[i].name}` : label));

  const namedCounts = countValues(named);
  const seen = new Map<string, number>();
  return named.map((label) => {
    if (namedCounts.get(label)! === 1) return label;
    const occurrence = (seen.get(label) ?? 0) + 1;
    seen.set(label, occurrence);
    return occurrence === 1 ? label : `${label} #${occurrence}`;
  });
}

function countValues(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

// Differences against one base run, which the runs list shows and new runs are named by.

/** One way a run's config differs from a base run's, as the runs list shows it. */
export interface PairDifference {
  /** A field or choice key, 'task' or 'engine'. */
  key: RunKey | 'task' | 'engine';
  /** The value in the compared run, as the runs list shows it, such as "1" or "fixed (S4)". */
  value: string;
}

/**
 * Lists what `config` changes against `base`, in the order of the controls. Numeric
 * fields that only `config` has, such as n_head when it is a Transformer and `base` is
 * not, are left out because the architecture difference already implies them. Its
 * choices are kept, such as rotary or absolute positions, so that two Transformers
 * beside a Mamba base still read differently.
 */
export function configDifferences(base: RunConfig, config: RunConfig): PairDifference[] {
  const differences: PairDifference[] = [];
  if (base.task.kind !== config.task.kind) differences.push({ key: 'task', value: taskLabel(config.task) });

  const baseKeys = new Set(runKeys(base));
  for (const key of runKeys(config)) {
    if (!baseKeys.has(key)) {
      if (isChoiceKey(key)) differences.push({ key, value: formatKeyValue(key, readKey(config, key)) });
      continue;
    }
    const value = readKey(config, key);
    if (readKey(base, key) !== value) differences.push({ key, value: formatKeyValue(key, value) });
  }

  if (base.engine !== config.engine) differences.push({ key: 'engine', value: config.engine });
  return differences;
}

/** Formats differences as one line, such as "d_state = 1, selective_delta = fixed (S4)". */
export function formatPairDifferences(differences: PairDifference[]): string {
  return differences.map((difference) => `${difference.key} = ${difference.value}`).join(', ');
}

/** Most differences from the first run that a default name lists; beyond them it uses the preset's name. */
const NAME_DIFFERENCES = 3;

/** Returns `name`, or `name #2`, `#3` … when a listed run already has it. */
export function uniqueName(name: string, runs: readonly { name: string }[]): string {
  const usedNames = new Set(runs.map((run) => run.name));
  if (!usedNames.has(name)) return name;
  let k = 2;
  while (usedNames.has(`${name} #${k}`)) k++;
  return `${name} #${k}`;
}

/**
 * Returns the default name of a run added to `runs`. The first run gets the preset's
 * name. A later run is named by what it changes against the first run when that is at
 * most three things, and by the preset's name otherwise. A name already taken gets a number.
 */
export function defaultRunName(config: RunConfig, runs: readonly { config: RunConfig; name: string }[]): string {
  if (runs.length === 0) return config.preset;
  const differences = configDifferences(runs[0].config, config);
  const name = differences.length > 0 && differences.length <= NAME_DIFFERENCES ? formatPairDifferences(differences) : config.preset;
  return uniqueName(name, runs);
}

/**
 * Returns the name of a copy of a run with one key changed. The source's name keeps its
 * parts, except any "key = value" part for that key or for a key that the copy no longer
 * has (such as d_state once it is a Transformer), and the change is added at the end.
 */
export function copyName(sourceName: string, key: RunKey, changeText: string, config: RunConfig, runs: readonly { name: string }[]): string {
  const keys = new Set<string>(runKeys(config));
  const parts = sourceName.split(', ').filter((part) => {
    const named = /^(\w+) = /.exec(part)?.[1];
    // Free text, and parts that name no setting, stay as they are.
    if (named === undefined || !(isChoiceKey(named) || FIELDS.some((field) => field.key === named))) return true;
    return named !== key && keys.has(named);
  });
  return uniqueName([...parts, changeText].join(', '), runs);
}
