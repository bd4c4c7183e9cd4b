/**
 * The run config slice: the last valid RunConfig, the text of every input, and the
 * messages for inputs and link values that were rejected. The trainer only ever
 * receives `run`, which is valid by construction.
 */
import type { StateCreator } from 'zustand';
import { DEFAULT_PRESET, findPreset, type Preset } from '../presets';
import type { EnginePreference, RunConfig } from '../protocol';
import type { TaskKind } from '../tasks';
import { fieldTexts, normalizeFieldText, runFromTexts, validateRunFields, type FieldErrors, type FieldKey, type FieldTexts } from './fields';
import { choiceSpec, type ChoiceKey, type ChoiceValue } from './choices';
import type { AppState, AppMiddleware } from './types';
import { copyRun, decodeRunQuery, withTaskKind, type LinkErrors } from './url';

export interface ConfigSlice {
  /** The last valid config; the one the trainer runs and the URL mirrors. */
  run: RunConfig;
  /** Text of each input, which may be invalid. */
  texts: FieldTexts;
  /** Messages for inputs whose text is invalid; while any is set, `run` does not follow the inputs. */
  fieldErrors: FieldErrors;
  /** Messages for values in the opening link that were rejected. */
  linkErrors: LinkErrors;
  /** Messages for keys of the opening link that are not settings, such as a misspelt field name. */
  linkUnknownKeys: string[];
  setFieldText(key: FieldKey, text: string): void;
  /** Rewrites a field's text as its parsed value, such as "0.003" for "3e-3"; called when the input loses focus. */
  normalizeFieldText(key: FieldKey): void;
  setTaskKind(kind: TaskKind): void;
  /** Sets a choice such as the architecture or an ablation; fields the new run does not have drop out. */
  setChoice(key: ChoiceKey, value: ChoiceValue): void;
  /** Loads a preset's config but keeps the engine choice, which belongs to the machine, not the preset. */
  choosePreset(name: string): void;
  setEnginePreference(engine: EnginePreference): void;
  /** Replaces the config with the one in a query string, such as location.search. */
  loadQuery(search: string): void;
  resetConfig(): void;
}

function initialConfig(): Pick<ConfigSlice, 'run' | 'texts' | 'fieldErrors' | 'linkErrors' | 'linkUnknownKeys'> {
  const run = copyRun(findPreset(DEFAULT_PRESET)!.run);
  return { run, texts: fieldTexts(run), fieldErrors: {}, linkErrors: {}, linkUnknownKeys: [] };
}

function withoutKey<K extends string>(record: Partial<Record<K, string>>, key: K): Partial<Record<K, string>> {
  if (!(key in record)) return record;
  const copy = { ...record };
  delete copy[key];
  return copy;
}

/**
 * True when the run differs from its preset in anything but the engine, which is where
 * the run trains, not what it trains. Key order does not matter.
 */
export function differsFromPreset(run: RunConfig, preset: Preset): boolean {
  return !sameJson({ ...preset.run, engine: run.engine }, run);
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  if (aKeys.length !== bKeys.length) return false;
  return aKeys.every((key) => key in b && sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

export const createConfigSlice: StateCreator<AppState, AppMiddleware, [], ConfigSlice> = (set, get) => ({
  ...initialConfig(),

  setFieldText(key, text) {
    const { run: current, linkErrors } = get();
    const texts = { ...get().texts, [key]: text };
    const { run, errors } = runFromTexts(current, texts);
    const valid = Object.keys(errors).length === 0;
    set({
      texts,
      fieldErrors: errors,
      linkErrors: withoutKey(linkErrors, key),
      ...(valid ? { run } : {}),
    });
  },

  normalizeFieldText(key) {
    const text = get().texts[key];
    if (text === undefined) return;
    const normalized = normalizeFieldText(key, text);
    if (normalized !== text) get().setFieldText(key, normalized);
  },

  setTaskKind(kind) {
    const run = withTaskKind(get().run, kind);
    set({
      run,
      texts: fieldTexts(run),
      fieldErrors: validateRunFields(run),
      linkErrors: withoutKey(get().linkErrors, 'task'),
    });
  },

  setChoice(key, value) {
    const run = choiceSpec(key).write(get().run, value);
    set({
      run,
      texts: fieldTexts(run),
      fieldErrors: validateRunFields(run),
      linkErrors: withoutKey(get().linkErrors, key),
    });
  },

  choosePreset(name) {
    const preset = findPreset(name);
    if (!preset) return;
    const run = { ...copyRun(preset.run), engine: get().run.engine };
    set({ run, texts: fieldTexts(run), fieldErrors: {}, linkErrors: {}, linkUnknownKeys: [] });
  },

  setEnginePreference(engine) {
    set({ run: { ...get().run, engine }, linkErrors: withoutKey(get().linkErrors, 'engine') });
  },

  loadQuery(search) {
    const { run, errors, unknownKeys } = decodeRunQuery(search);
    set({ run, texts: fieldTexts(run), fieldErrors: validateRunFields(run), linkErrors: errors, linkUnknownKeys: unknownKeys });
  },

  resetConfig() {
    set(initialConfig());
  },
});
