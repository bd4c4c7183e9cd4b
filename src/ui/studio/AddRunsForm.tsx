import { useId, useState } from 'react';
import { useAppStore } from '../../store';
import { choiceSpec, formatChoice, isChoiceKey } from '../../store/choices';
import { parseFieldText } from '../../store/fields';
import type { RunConfig } from '../../protocol';
import { DEFAULT_QUEUE_STEPS, runKeys, type RunKey } from '../../studio/runs';

/** Example values shown in the grid's input for a key. */
function gridPlaceholder(key: RunKey): string {
  if (isChoiceKey(key)) return choiceSpec(key).options.map((o) => formatChoice(o.value)).join(', ');
  if (key === 'd_state') return '1, 2, 4, 8, 16';
  return 'values separated by commas';
}

/**
 * Adds runs from the Train view's config: the config itself, or a grid over one field
 * or choice. Both use the number of steps typed here, because a queued run must end by
 * itself, and the Train view's config often has no limit (max_steps = 0).
 */
export function AddRunsForm() {
  const run = useAppStore((state) => state.run);
  const invalidCount = useAppStore((state) => Object.keys(state.fieldErrors).length);
  const addStudioRun = useAppStore((state) => state.addStudioRun);
  const addStudioGrid = useAppStore((state) => state.addStudioGrid);
  const [stepsText, setStepsText] = useState(String(run.max_steps > 0 ? run.max_steps : DEFAULT_QUEUE_STEPS));
  const keys = runKeys(run);
  const [gridKey, setGridKey] = useState<RunKey>('d_state');
  const [gridText, setGridText] = useState('');
  const [errors, setErrors] = useState<string[]>([]);
  const id = useId();
  // The Train view may switch to a Transformer, which has no d_state.
  const key = keys.includes(gridKey) ? gridKey : keys[0];

  /** Returns the Train view's config with the typed steps, or null after showing why the steps are invalid. */
  const baseConfig = (): RunConfig | null => {
    const parsed = parseFieldText('max_steps', stepsText);
    if ('error' in parsed) {
      setErrors([parsed.error]);
      return null;
    }
    return { ...run, max_steps: parsed.value };
  };

  const addCurrent = () => {
    const config = baseConfig();
    if (!config) return;
    const result = addStudioRun(config);
    setErrors(result.ok ? [] : result.errors);
  };

  const addGrid = () => {
    const config = baseConfig();
    if (!config) return;
    const result = addStudioGrid(config, key, gridText);
    setErrors(result.ok ? [] : result.errors);
    if (result.ok) setGridText('');
  };

  return (
    <div className="add-runs">
      <h3>Add runs from the Train view’s config</h3>
      {invalidCount > 0 && (
        <p className="field-message">
          The Train view has {invalidCount === 1 ? 'an invalid field' : `${invalidCount} invalid fields`}, so new runs use its
          last valid config.
        </p>
      )}
      <div className="add-runs-grid">
        <div className="field">
          <label htmlFor={`${id}-steps`} className="field-name">
            Steps per run
          </label>
          <input id={`${id}-steps`} type="text" inputMode="numeric" value={stepsText} onChange={(event) => {
            setStepsText(event.target.value);
            setErrors([]);
          }} />
        </div>
        <div className="button-row">
          <button type="button" className="primary" onClick={addCurrent}>
            Add the Train view’s config
          </button>
        </div>
      </div>
      <div className="add-runs-grid">
        <div className="field">
          <label htmlFor={`${id}-grid-key`} className="field-name">
            Grid over
          </label>
          <select id={`${id}-grid-key`} value={key} onChange={(event) => {
            setGridKey(event.target.value as RunKey);
            setErrors([]);
          }}>
            {keys.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-grid-values`} className="field-name">
            Values
          </label>
          <input
            id={`${id}-grid-values`}
            type="text"
            value={gridText}
            placeholder={gridPlaceholder(key)}
            onChange={(event) => {
              setGridText(event.target.value);
              setErrors([]);
            }}
            onKeyDown={(event) => {
              if (event.key === 'Enter') addGrid();
            }}
          />
        </div>
        <div className="button-row">
          <button type="button" onClick={addGrid}>
            Add one run per value
          </button>
        </div>
      </div>
      {errors.length > 0 && (
        <ul className="field-message" role="alert">
          {errors.map((message) => (
            <li key={message}>{message}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
