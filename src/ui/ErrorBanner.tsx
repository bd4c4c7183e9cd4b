import { useAppStore } from '../store';
import type { RunErrorKind } from '../store/runSlice';

/** The banner's heading and next step for each kind of failure. */
const ERROR_TEXT: Record<RunErrorKind, { heading: string; hint: string }> = {
  connect: {
    heading: 'Starting the trainer failed.',
    hint: 'Reload the page to start the trainer again.',
  },
  setup: {
    heading: 'Setting up the run failed.',
    hint: 'Change the setting the message names, such as the engine under Advanced, then press Train to set up the run again.',
  },
  start: {
    heading: 'Starting training failed.',
    hint: 'Press Train to set up the run again and train.',
  },
  pause: {
    heading: 'Pausing failed.',
    hint: 'Press Train to set up the run again and train.',
  },
  reset: {
    heading: 'Resetting the run failed.',
    hint: 'Press Train to set up the run again and train.',
  },
  training: {
    heading: 'Training stopped with an error.',
    hint: 'Press Train to build the model again and train from step 0, or change a setting first.',
  },
  worker: {
    heading: 'Training is unavailable.',
    hint: 'Reload the page to start a new worker.',
  },
};

/** Shows the latest failure from the worker, the trainer or a call to it, worded by what failed, until dismissed. */
export function ErrorBanner() {
  const error = useAppStore((state) => state.error);
  const dismissError = useAppStore((state) => state.dismissError);
  if (!error) return null;
  const { heading, hint } = ERROR_TEXT[error.kind];

  return (
    <div className="error-banner" role="alert">
      <div>
        <strong>{heading}</strong> {error.message}
        <p className="error-hint">{hint}</p>
      </div>
      <button type="button" className="dismiss" onClick={dismissError} aria-label="Dismiss error">
        ×
      </button>
    </div>
  );
}
