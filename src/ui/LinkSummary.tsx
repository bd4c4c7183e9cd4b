import { useAppStore } from '../store';
import { hiddenFieldLinkErrors } from '../store/url';

/**
 * Summarises the values of the opening link that could not be used. Values of fields the
 * page shows are marked at their field, and values of fields that the task does not
 * have, which no input shows, are listed here with their messages.
 */
export function LinkSummary() {
  const linkErrors = useAppStore((state) => state.linkErrors);
  const unknownKeys = useAppStore((state) => state.linkUnknownKeys);
  const compareProblems = useAppStore((state) => state.compareLinkMessages.length);
  const view = useAppStore((state) => state.view);
  const setView = useAppStore((state) => state.setView);
  const run = useAppStore((state) => state.run);

  const total = Object.keys(linkErrors).length;
  // The Compare view lists the comparison's problems itself.
  const showCompare = compareProblems > 0 && view !== 'compare';
  if (total === 0 && unknownKeys.length === 0 && !showCompare) return null;
  const hidden = hiddenFieldLinkErrors(linkErrors, run);
  const markedCount = total - hidden.length;
  let markedSubject = total === 1 ? 'It is' : 'Each one is';
  if (hidden.length > 0) markedSubject = markedCount === 1 ? 'The other is' : 'The others are';

  return (
    <div className="link-summary" role="alert">
      {unknownKeys.length > 0 && (
        <>
          <p>The link named {unknownKeys.length === 1 ? 'a setting' : 'settings'} that this page does not have:</p>
          <ul>
            {unknownKeys.map((message) => (
              <li key={message}>{message}.</li>
            ))}
          </ul>
        </>
      )}
      {showCompare && (
        <p>
          The comparison in the link had {compareProblems === 1 ? 'a problem' : `${compareProblems} problems`}.{' '}
          <button type="button" className="link-button" onClick={() => setView('compare')}>
            Show them in Compare
          </button>
        </p>
      )}
      {total > 0 && <p>The link had {total === 1 ? 'a value' : `${total} values`} that could not be used.</p>}
      {hidden.length > 0 && (
        <>
          <p>{hidden.length === 1 ? 'This field is' : 'These fields are'} not shown for this task and model:</p>
          <ul>
            {hidden.map(([key, message]) => (
              <li key={key}>{message}.</li>
            ))}
          </ul>
        </>
      )}
      {markedCount > 0 && (
        <p>
          {markedSubject} marked below with the value used instead.
        </p>
      )}
    </div>
  );
}
