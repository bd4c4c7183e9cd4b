import { useAppStore } from '../store';

/** Shows the latest failure from the worker, the trainer or a call to it until dismissed. */
export function ErrorBanner() {
  const error = useAppStore((state) => state.error);
  const dismissError = useAppStore((state) => state.dismissError);
  if (!error) return null;

  return (
    <div className="error-banner" role="alert">
      <div>
        <strong>Training stopped with an error.</strong> {error}
        <p className="error-hint">Press Reset or change a setting to build the model again.</p>
      </div>
      <button type="button" className="dismiss" onClick={dismissError} aria-label="Dismiss error">
        ×
      </button>
    </div>
  );
}
