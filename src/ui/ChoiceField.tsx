import { useId } from 'react';
import { useAppStore } from '../store';
import { choiceSpec, formatChoice, type ChoiceKey } from '../store/choices';

/** Renders one select of the run config, such as the architecture or an ablation, with the message for a rejected link value. */
export function ChoiceField({ choiceKey, disabled }: { choiceKey: ChoiceKey; disabled: boolean }) {
  const spec = choiceSpec(choiceKey);
  const value = useAppStore((state) => spec.read(state.run));
  const linkError = useAppStore((state) => state.linkErrors[choiceKey]);
  const setChoice = useAppStore((state) => state.setChoice);
  const id = useId();
  const helpId = `${id}-help`;
  const current = spec.options.find((option) => option.value === value);

  return (
    <div className={`field${linkError ? ' link-rejected' : ''}`}>
      <div className="field-label">
        <label htmlFor={id} className="field-name">
          {choiceKey}
        </label>
        <span id={helpId} className="field-help">
          {spec.help}
        </span>
      </div>
      <select
        id={id}
        name={choiceKey}
        value={formatChoice(value)}
        disabled={disabled}
        aria-describedby={helpId}
        onChange={(event) => {
          const option = spec.options.find((o) => formatChoice(o.value) === event.target.value);
          if (option) setChoice(choiceKey, option.value);
        }}
      >
        {spec.options.map((option) => (
          <option key={formatChoice(option.value)} value={formatChoice(option.value)}>
            {option.label}
          </option>
        ))}
      </select>
      {linkError && (
        <p className="field-message">
          From the link: {linkError}. Using {current?.label ?? formatChoice(value)} instead.
        </p>
      )}
    </div>
  );
}
