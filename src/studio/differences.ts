/**
 * Differences between two run configs, in the words of the controls: the task, the
 * fields, the choices and the engine. The runs list shows it against the first run,
 * and new runs take it as their default name.
 */
import type { RunConfig } from '../protocol';
import { taskLabel } from '../tasks';
import { readKey, runKeys, formatKeyValue, type RunKey } from './runs';

export interface ConfigDifference {
  /** A field or choice key, 'task' or 'engine'. */
  key: RunKey | 'task' | 'engine';
  /** The value in the compared run, as the runs list shows it, such as "1" or "fixed (S4)". */
  value: string;
}

/**
 * Lists what `config` changes against `base`, in the order of the controls. Fields that
 * only one of the two has, such as d_state when one run is a Transformer, are left out
 * because the architecture difference already names them.
 */
export function configDifferences(base: RunConfig, config: RunConfig): ConfigDifference[] {
  const differences: ConfigDifference[] = [];
  if (base.task.kind !== config.task.kind) differences.push({ key: 'task', value: taskLabel(config.task) });

  const baseKeys = new Set(runKeys(base));
  for (const key of runKeys(config)) {
    if (!baseKeys.has(key)) continue;
    const value = readKey(config, key);
    if (readKey(base, key) !== value) differences.push({ key, value: formatKeyValue(key, value) });
  }

  if (base.engine !== config.engine) differences.push({ key: 'engine', value: config.engine });
  return differences;
}

/** Formats differences as one line, such as "d_state = 1, selective_delta = fixed (S4)". */
export function formatDifferences(differences: ConfigDifference[]): string {
  return differences.map((difference) => `${difference.key} = ${difference.value}`).join(', ');
}

/**
 * Returns the default name of a run added to `runs`: what it changes against the first
 * run, the preset's name for the first run, or the preset's name with a number when it
 * changes nothing.
 */
export function defaultRunName(config: RunConfig, runs: readonly { config: RunConfig }[]): string {
  if (runs.length === 0) return config.preset;
  const differences = configDifferences(runs[0].config, config);
  if (differences.length > 0) return formatDifferences(differences);
  return `${config.preset} #${runs.length + 1}`;
}
