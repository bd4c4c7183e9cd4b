import { useId } from 'react';
import { useAppStore } from '../store';
import { fieldSpec, type FieldKey } from '../store/fields';

/**
 * Renders one numeric input of the run config with the text as typed, the message when
 * that text is invalid, and the message for a rejected value from the opening link.
 * When the input loses focus, valid text is rewritten as the value it parsed to.
 */
export function NumberField({ fieldKey, disabled }: { fieldKey: FieldKey; disabled: boolean }) {
  const spec = fieldSpec(fieldKey);
  const text = useAppStore((state) => state.texts[fieldKey] ?? '');
  const error = useAppStore((state) => state.fieldErrors[fieldKey]);
  const linkError = useAppStore((state) => state.linkErrors[fieldKey]);
  const setFieldText = useAppStore((state) => state.setFieldText);
  const normalizeFieldText = useAppStore((state) => state.normalizeFieldText);
  const id = useId();
  const helpId = `${id}-help`;
  const messageId = `${id}-message`;
  const message = error ?? (linkError ? `From the link: ${linkError}. Using ${text} instead.` : null);

  return (
    <div className={`field${error ? ' invalid' : ''}${linkError && !error ? ' link-rejected' : ''}`}>
      <div className="field-label">
        <label htmlFor={id} className="field-name">
          {fieldKey}
        </label>
        <span id={helpId} className="field-help">
          {spec.help}
        </span>
      </div>
      <input
        id={id}
        name={fieldKey}
        type="text"
        inputMode={spec.rule.integer ? 'numeric' : 'decimal'}
        autoComplete="off"
        spellCheck={false}
        value={text}
        disabled={disabled}
        aria-invalid={error ? true : undefined}
        aria-describedby={message ? `${helpId} ${messageId}` : helpId}
        onChange={(event) => setFieldText(fieldKey, event.target.value)}
        onBlur={() => normalizeFieldText(fieldKey)}
      />
      {message && (
        <p id={messageId} className="field-message" role={error ? 'alert' : undefined}>
          {message}
        </p>
      )}
    </div>
  );
}
