/**
 * The run config's fields that take one of a few values rather than a number: the
 * architecture, the Transformer's positions and the Mamba ablations. Each one is a
 * select in the controls and a key of the URL. Pure functions, shared by the config
 * slice, the URL codec and the run queue.
 */
import {
  A_INITS, ARCHITECTURES, BLOCK_KINDS, MAMBA_ABLATION_DEFAULTS, isTransformerConfig,
  type Architecture, type MambaAblations, type MambaConfig,
} from '../model/config';
import type { PositionEncoding, TransformerConfig } from '../model/transformer';
import { findPreset } from '../presets';
import type { RunConfig } from '../protocol';

export type ChoiceValue = string | boolean;

export type ChoiceKey = 'architecture' | 'positions' | keyof MambaAblations;

export interface ChoiceOption {
  value: ChoiceValue;
  label: string;
}

export interface ChoiceSpec {
  key: ChoiceKey;
  /** Short help shown next to the name. */
  help: string;
  group: 'model' | 'ablation';
  options: ChoiceOption[];
  /** Architectures that have this field; undefined means both. */
  architectures?: Architecture[];
  read(run: RunConfig): ChoiceValue;
  write(run: RunConfig, value: ChoiceValue): RunConfig;
}

export const ARCHITECTURE_LABELS: Record<Architecture, string> = {
  mamba: 'Mamba (selective SSM)',
  transformer: 'Transformer (attention baseline)',
};

/** Heads for a Transformer of width d_model: 4, 2 or 1, the largest that divides it. */
export function defaultHeads(dModel: number): number {
  return [4, 2, 1].find((heads) => dModel % heads === 0)!;
}

/**
 * Returns the run with the other architecture, keeping the vocabulary, width and depth.
 * The architecture's own fields come from the run's preset when the preset has that
 * architecture, else from the defaults: d_state 16, expand 2 and d_conv 4 for Mamba;
 * for the Transformer, defaultHeads, rotary positions and max_len = seq_len.
 */
export function withArchitecture(run: RunConfig, architecture: Architecture): RunConfig {
  const current = run.model;
  if ((current.architecture ?? 'mamba') === architecture) return run;
  const presetModel = findPreset(run.preset)?.run.model;
  const shared = { vocab_size: current.vocab_size, d_model: current.d_model, n_layer: current.n_layer };
  if (architecture === 'transformer') {
    const fromPreset = presetModel && isTransformerConfig(presetModel) ? presetModel : undefined;
    const nHead = fromPreset && shared.d_model % fromPreset.n_head === 0 ? fromPreset.n_head : defaultHeads(shared.d_model);
    const model: TransformerConfig = {
      architecture: 'transformer',
      ...shared,
      n_head: nHead,
      d_ff: fromPreset?.d_ff ?? 'auto',
      positions: fromPreset?.positions ?? 'rope',
      max_len: Math.max(fromPreset?.max_len ?? 0, run.train.seq_len),
    };
    return { ...run, model };
  }
  const fromPreset = presetModel && !isTransformerConfig(presetModel) ? presetModel : undefined;
  const model: MambaConfig = fromPreset
    ? { ...fromPreset, ...shared }
    : { ...shared, d_state: 16, expand: 2, d_conv: 4, dt_rank: 'auto' };
  return { ...run, model };
}

/** Builds the spec of a Mamba ablation field. Writing the default value removes the key, so runs compare equal to presets. */
function ablation<K extends keyof MambaAblations>(key: K, help: string, options: ChoiceOption[]): ChoiceSpec {
  return {
    key,
    help,
    group: 'ablation',
    options,
    architectures: ['mamba'],
    read: (run) => (run.model as MambaConfig)[key] ?? MAMBA_ABLATION_DEFAULTS[key],
    write: (run, value) => {
      const model = { ...(run.model as MambaConfig) };
      if (value === MAMBA_ABLATION_DEFAULTS[key]) delete model[key];
      else (model as Record<string, unknown>)[key] = value;
      return { ...run, model };
    },
  };
}

const SELECTIVE_OPTIONS: ChoiceOption[] = [
  { value: true, label: 'input-dependent (S6)' },
  { value: false, label: 'fixed (S4)' },
];

export const CHOICES: ChoiceSpec[] = [
  {
    key: 'architecture',
    help: 'the model that trains',
    group: 'model',
    options: ARCHITECTURES.map((value) => ({ value, label: ARCHITECTURE_LABELS[value] })),
    read: (run) => run.model.architecture ?? 'mamba',
    write: (run, value) => withArchitecture(run, value as Architecture),
  },
  {
    key: 'positions',
    help: 'how attention sees token order',
    group: 'model',
    options: [
      { value: 'rope', label: 'rotary (RoPE)' },
      { value: 'absolute', label: 'learned absolute' },
    ],
    architectures: ['transformer'],
    read: (run) => (run.model as TransformerConfig).positions,
    write: (run, value) => {
      const model = { ...(run.model as TransformerConfig), positions: value as PositionEncoding };
      // The absolute position table must cover every training position.
      if (model.positions === 'absolute') model.max_len = Math.max(model.max_len, run.train.seq_len);
      return { ...run, model };
    },
  },
  ablation('block', 'the layer around the SSM', BLOCK_KINDS.map((value) => ({
    value,
    label: { mamba: 'Mamba', 'no-gate': 'Mamba without gate', h3: 'H3' }[value],
  }))),
  ablation('selective_delta', 'Δ, the step size', SELECTIVE_OPTIONS),
  ablation('selective_B', 'B, what enters the state', SELECTIVE_OPTIONS),
  ablation('selective_C', 'C, what leaves the state', SELECTIVE_OPTIONS),
  ablation('use_conv', 'causal convolution before the SSM', [
    { value: true, label: 'on' },
    { value: false, label: 'off' },
  ]),
  ablation('a_init', 'initial A', A_INITS.map((value) => ({
    value,
    label: { 's4d-real': 'S4D-Real: −(n+1)', constant: 'constant: −½', random: 'random: −exp(N(0, 1))' }[value],
  }))),
  ablation('delta_softplus', 'softplus on Δ', [
    { value: true, label: 'on' },
    { value: false, label: 'off' },
  ]),
];

export const CHOICE_KEYS: ChoiceKey[] = CHOICES.map((choice) => choice.key);

export function choiceSpec(key: ChoiceKey): ChoiceSpec {
  const spec = CHOICES.find((choice) => choice.key === key);
  if (!spec) throw new RangeError(`choice ${key} not found`);
  return spec;
}

export function isChoiceKey(name: string): name is ChoiceKey {
  return (CHOICE_KEYS as string[]).includes(name);
}

/** Choices shown for a run's architecture. */
export function choicesForRun(run: RunConfig): ChoiceSpec[] {
  const architecture = run.model.architecture ?? 'mamba';
  return CHOICES.filter((choice) => !choice.architectures || choice.architectures.includes(architecture));
}

/** Formats a choice value as URLs write it: "mamba", "true", "s4d-real". */
export function formatChoice(value: ChoiceValue): string {
  return String(value);
}

/**
 * Returns the texts that name an option, lower-cased: its value as URLs write it, its
 * label, and the parts of the label before a bracket or colon and inside brackets, so
 * "fixed (S4)" is also "fixed" and "s4".
 */
function optionNames(option: ChoiceOption): string[] {
  const names = [formatChoice(option.value), option.label];
  const bracket = /^(.*?)\s*\((.*)\)$/.exec(option.label);
  if (bracket) names.push(bracket[1], bracket[2]);
  const colon = option.label.indexOf(':');
  if (colon > 0) names.push(option.label.slice(0, colon));
  return names.map((name) => name.trim().toLowerCase());
}

/**
 * Reads a choice's value from its URL text or from a name the controls show, such as
 * "false", "fixed (S4)", "fixed" or "S4"; returns an error message naming the allowed
 * values instead.
 */
export function parseChoice(key: ChoiceKey, text: string): { value: ChoiceValue } | { error: string } {
  const spec = choiceSpec(key);
  const wanted = text.trim().toLowerCase();
  const option =
    spec.options.find((o) => formatChoice(o.value) === text) ?? spec.options.find((o) => optionNames(o).includes(wanted));
  if (option) return { value: option.value };
  return { error: `${key} = "${text}" is not known: use ${spec.options.map((o) => formatChoice(o.value)).join(', ')}` };
}
