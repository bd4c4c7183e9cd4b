import { useMemo } from 'react';
import { useAppStore } from '../store';
import { differsFromPreset } from '../store/configSlice';
import { choicesForRun } from '../store/choices';
import { fieldsForRun, type FieldSpec } from '../store/fields';
import { ChoiceField } from './ChoiceField';
import { ENGINE_PREFERENCES, withTaskKind } from '../store/url';
import { findPreset, PRESETS } from '../presets';
import type { EnginePreference } from '../protocol';
import { TASK_KINDS, taskLabel, type TaskKind } from '../tasks';
import { LinkSummary } from './LinkSummary';
import { NumberField } from './NumberField';
import { ParameterCount } from './ParameterCount';
import { RunButtons } from './RunButtons';

const ENGINE_LABELS: Record<EnginePreference, string> = {
  auto: 'Auto: WebGPU on a hardware GPU, else CPU',
  webgpu: 'WebGPU only',
  cpu: 'CPU',
};

const GROUPS: { group: FieldSpec['group']; title: string }[] = [
  { group: 'task', title: 'Task' },
  { group: 'model', title: 'Model' },
  { group: 'training', title: 'Training' },
];

/** Renders the left panel: the run buttons, preset, task, engine and every field. */
export function ControlsPanel() {
  const run = useAppStore((state) => state.run);
  const status = useAppStore((state) => state.status);
  const linkErrors = useAppStore((state) => state.linkErrors);
  const choosePreset = useAppStore((state) => state.choosePreset);
  const setTaskKind = useAppStore((state) => state.setTaskKind);
  const setEnginePreference = useAppStore((state) => state.setEnginePreference);

  const locked = status === 'running';
  const preset = findPreset(run.preset);
  const modified = useMemo(() => preset !== undefined && differsFromPreset(run, preset), [preset, run]);
  const fields = fieldsForRun(run);
  const choices = choicesForRun(run);
  // Open the advanced group when the link set a value there that was rejected, so its message shows.
  const advancedLinkError =
    linkErrors.engine !== undefined || fields.some((field) => field.group === 'advanced' && linkErrors[field.key] !== undefined);
  const ablations = choices.filter((choice) => choice.group === 'ablation');
  const ablationLinkError = ablations.some((choice) => linkErrors[choice.key] !== undefined);

  return (
    <aside className="controls panel" aria-label="Run settings">
      <LinkSummary />

      <RunButtons />

      <div className="field">
        <div className="field-label">
          <label htmlFor="preset-select" className="field-name">
            Preset
          </label>
        </div>
        <select id="preset-select" value={run.preset} disabled={locked} onChange={(event) => choosePreset(event.target.value)}>
          {PRESETS.map((p) => (
            <option key={p.name} value={p.name}>
              {p.label}
            </option>
          ))}
        </select>
        {linkErrors.preset && <p className="field-message">From the link: {linkErrors.preset}. Using {preset?.label}.</p>}
        {/* The description speaks of the preset's sizes, so it is shown only while they are unchanged. */}
        {preset && (
          <p className="preset-description">{modified ? `Modified from ${preset.label}.` : preset.description}</p>
        )}
      </div>

      <div className="field">
        <div className="field-label">
          <label htmlFor="task-select" className="field-name">
            Task
          </label>
        </div>
        <select id="task-select" value={run.task.kind} disabled={locked} onChange={(event) => setTaskKind(event.target.value as TaskKind)}>
          {TASK_KINDS.map((kind) => (
            <option key={kind} value={kind}>
              {taskLabel(withTaskKind(run, kind).task)}
            </option>
          ))}
        </select>
        {linkErrors.task && <p className="field-message">From the link: {linkErrors.task}.</p>}
      </div>

      {GROUPS.map(({ group, title }) => (
        <fieldset key={group} className="field-group">
          <legend>{title}</legend>
          {group === 'model' &&
            choices
              .filter((choice) => choice.group === 'model')
              .map((choice) => <ChoiceField key={choice.key} choiceKey={choice.key} disabled={locked} />)}
          {fields
            .filter((field) => field.group === group)
            .map((field) => (
              <NumberField key={field.key} fieldKey={field.key} disabled={locked} />
            ))}
          {group === 'model' && <ParameterCount />}
        </fieldset>
      ))}

      {ablations.length > 0 && (
        <details className="field-group advanced" open={ablationLinkError ? true : undefined}>
          <summary>Ablations</summary>
          {ablations.map((choice) => (
            <ChoiceField key={choice.key} choiceKey={choice.key} disabled={locked} />
          ))}
        </details>
      )}

      <details className="field-group advanced" open={advancedLinkError ? true : undefined}>
        <summary>Advanced</summary>
        <div className="field">
          <div className="field-label">
            <label htmlFor="engine-select" className="field-name">
              engine
            </label>
            <span className="field-help">where training runs</span>
          </div>
          <select
            id="engine-select"
            value={run.engine}
            disabled={locked}
            onChange={(event) => setEnginePreference(event.target.value as EnginePreference)}
          >
            {ENGINE_PREFERENCES.map((engine) => (
              <option key={engine} value={engine}>
                {ENGINE_LABELS[engine]}
              </option>
            ))}
          </select>
          {linkErrors.engine && <p className="field-message">From the link: {linkErrors.engine}.</p>}
        </div>
        {fields
          .filter((field) => field.group === 'advanced')
          .map((field) => (
            <NumberField key={field.key} fieldKey={field.key} disabled={locked} />
          ))}
      </details>
    </aside>
  );
}
