import { useEffect, useId, useState } from 'react';
import { useAppStore } from '../../store';
import { choiceSpec, formatChoice, isChoiceKey, type ChoiceValue } from '../../store/choices';
import { formatFieldValue, parseFieldText } from '../../store/fields';
import { configDifferences, formatPairDifferences } from '../../studio/differences';
import { readKey, runKeys, type RunChange, type RunKey } from '../../studio/runs';
import type { StudioRun } from '../../studio/types';
import { formatAccuracy, formatDuration, formatLoss } from '../format';

const STATUS_WORDS: Record<StudioRun['status'], string> = {
  queued: 'Queued',
  running: 'Training',
  paused: 'Paused',
  done: 'Done',
  error: 'Error',
};

/**
 * Returns the status cell's text: the status, where a paused run not in the worker
 * resumes, the error, and the latest loss and accuracy.
 */
export function runStatusText(run: StudioRun, live: boolean): string {
  const parts = [STATUS_WORDS[run.status]];
  if (run.status === 'paused' && run.onHold) parts.push('held until you resume it');
  if ((run.status === 'paused' || run.status === 'queued') && !live && run.step > 0) {
    if (run.checkpointStep === null) parts.push('trains again from step 0');
    else if (run.checkpointStep < run.step) parts.push(`resumes from step ${run.checkpointStep}, its last saved progress`);
    else parts.push(`resumes from step ${run.checkpointStep}`);
  }
  const last = run.metrics.at(-1);
  if (last) parts.push(`loss ${formatLoss(last.loss)}`, `accuracy ${formatAccuracy(last.accuracy)}`);
  const text = parts.join(' · ');
  return run.status === 'error' && run.message ? `${text}: ${run.message}` : text;
}

/** Renders the name input, which renames the run when it loses focus or on Enter, and puts the name back on Escape or when emptied. */
function NameInput({ run, index }: { run: StudioRun; index: number }) {
  const renameStudioRun = useAppStore((state) => state.renameStudioRun);
  const [text, setText] = useState(run.name);
  useEffect(() => setText(run.name), [run.name]);
  const commit = () => {
    if (text.trim() === '') setText(run.name);
    else renameStudioRun(run.id, text);
  };
  return (
    <input
      type="text"
      className="run-name"
      aria-label={`Name of run ${index + 1}`}
      value={text}
      onChange={(event) => setText(event.target.value)}
      onBlur={commit}
      onKeyDown={(event) => {
        if (event.key === 'Enter') event.currentTarget.blur();
        if (event.key === 'Escape') setText(run.name);
      }}
    />
  );
}

/** Picks a field or choice of the run and a new value for it, and adds the changed copy after the run. */
function DuplicateForm({ run, onClose }: { run: StudioRun; onClose: () => void }) {
  const duplicateStudioRun = useAppStore((state) => state.duplicateStudioRun);
  const keys = runKeys(run.config);
  const [key, setKey] = useState<RunKey>(keys.includes('d_state') ? 'd_state' : keys[0]);
  const current = readKey(run.config, key);
  const [text, setText] = useState(isChoiceKey(key) ? formatChoice(current as ChoiceValue) : formatFieldValue(current as number));
  const [errors, setErrors] = useState<string[]>([]);
  const id = useId();

  const chooseKey = (next: RunKey) => {
    setKey(next);
    const value = readKey(run.config, next);
    setText(isChoiceKey(next) ? formatChoice(value as ChoiceValue) : formatFieldValue(value as number));
    setErrors([]);
  };

  const submit = () => {
    let change: RunChange;
    if (isChoiceKey(key)) {
      const option = choiceSpec(key).options.find((o) => formatChoice(o.value) === text);
      if (!option) return;
      change = { key, value: option.value };
    } else {
      const parsed = parseFieldText(key, text);
      if ('error' in parsed) {
        setErrors([parsed.error]);
        return;
      }
      change = { key, value: parsed.value };
    }
    const result = duplicateStudioRun(run.id, change);
    if (result.ok) onClose();
    else setErrors(result.errors);
  };

  return (
    <form
      className="duplicate-form"
      aria-label={`Duplicate ${run.name}`}
      onSubmit={(event) => {
        event.preventDefault();
        submit();
      }}
    >
      <label htmlFor={`${id}-key`}>Field to change</label>
      <select id={`${id}-key`} value={key} onChange={(event) => chooseKey(event.target.value as RunKey)}>
        {keys.map((k) => (
          <option key={k} value={k}>
            {k}
          </option>
        ))}
      </select>
      <label htmlFor={`${id}-value`}>New value</label>
      {isChoiceKey(key) ? (
        <select id={`${id}-value`} value={text} onChange={(event) => setText(event.target.value)}>
          {choiceSpec(key).options.map((option) => (
            <option key={formatChoice(option.value)} value={formatChoice(option.value)}>
              {option.label}
            </option>
          ))}
        </select>
      ) : (
        <input id={`${id}-value`} type="text" value={text} aria-invalid={errors.length > 0 || undefined} onChange={(event) => setText(event.target.value)} />
      )}
      <div className="button-row">
        <button type="submit" className="primary">
          Add copy
        </button>
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
      {errors.length > 0 && (
        <ul className="field-message" role="alert">
          {errors.map((message) => (
            <li key={message}>{message}</li>
          ))}
        </ul>
      )}
    </form>
  );
}

export interface RunRowProps {
  run: StudioRun;
  /** The first run of the list, which the differences are shown against. */
  first: StudioRun;
  index: number;
  count: number;
  /** True when the run's engine and optimizer state are in the worker, so pausing keeps its progress. */
  live: boolean;
  /** Estimated wall time until the run finishes; undefined for a run that will not train, null when unknown. */
  timeLeftMs: number | null | undefined;
  estimated: boolean;
}

/** Renders one run of the list: its name, what differs from the first run, status, progress, the time until it finishes and actions. */
export function RunRow({ run, first, index, count, live, timeLeftMs, estimated }: RunRowProps) {
  const pauseStudioRun = useAppStore((state) => state.pauseStudioRun);
  const resumeStudioRun = useAppStore((state) => state.resumeStudioRun);
  const removeStudioRun = useAppStore((state) => state.removeStudioRun);
  const moveStudioRun = useAppStore((state) => state.moveStudioRun);
  const [duplicating, setDuplicating] = useState(false);

  const differences = index === 0 ? 'first run' : formatPairDifferences(configDifferences(first.config, run.config)) || 'same config';
  let timeLeft = '';
  if (timeLeftMs === null) timeLeft = '–';
  else if (timeLeftMs !== undefined) timeLeft = `${estimated ? '≈ ' : ''}${formatDuration(timeLeftMs)}`;
  const canPause = run.status === 'queued' || run.status === 'running';
  const canResume = run.status === 'paused' || run.status === 'error';

  return (
    <>
      <tr className={`run-row run-${run.status}`}>
        <td>
          <NameInput run={run} index={index} />
        </td>
        <td className="run-differences">{differences}</td>
        <td className="run-status">{runStatusText(run, live)}</td>
        <td className="run-progress">
          <progress aria-label={`Progress of ${run.name}`} max={run.config.max_steps} value={Math.min(run.step, run.config.max_steps)} />
          <span>
            {run.step} / {run.config.max_steps}
          </span>
        </td>
        <td className="run-time">{timeLeft}</td>
        <td className="run-actions">
          {canPause && (
            <button type="button" onClick={() => void pauseStudioRun(run.id)} aria-label={`Pause ${run.name}`}>
              Pause
            </button>
          )}
          {canResume && (
            <button type="button" onClick={() => void resumeStudioRun(run.id)} aria-label={`${run.status === 'error' ? 'Retry' : 'Resume'} ${run.name}`}>
              {run.status === 'error' ? 'Retry' : 'Resume'}
            </button>
          )}
          <button type="button" disabled={index === 0} onClick={() => moveStudioRun(run.id, index - 1)} aria-label={`Move ${run.name} up`}>
            ↑
          </button>
          <button type="button" disabled={index === count - 1} onClick={() => moveStudioRun(run.id, index + 1)} aria-label={`Move ${run.name} down`}>
            ↓
          </button>
          <button type="button" aria-expanded={duplicating} onClick={() => setDuplicating(!duplicating)} aria-label={`Duplicate ${run.name} and change one field`}>
            Duplicate…
          </button>
          <button type="button" className="danger" onClick={() => void removeStudioRun(run.id)} aria-label={`Delete ${run.name}`}>
            Delete
          </button>
        </td>
      </tr>
      {duplicating && (
        <tr className="duplicate-row">
          <td colSpan={6}>
            <DuplicateForm run={run} onClose={() => setDuplicating(false)} />
          </td>
        </tr>
      )}
    </>
  );
}
