/**
 * Wiring between the store and the world outside it: the URL mirrors the valid run
 * config, and a changed config is sent to the trainer once typing pauses.
 */
import { useAppStore } from './index';
import { encodeRunQuery } from './url';

/** Wait after the last config change before rebuilding the run, in milliseconds. */
export const CONFIGURE_DELAY_MS = 300;

/**
 * Reads the config from the current URL, connects to the trainer and keeps both in
 * step with the store. Returns a function that stops the syncing.
 */
export function startSync(): () => void {
  const store = useAppStore;
  store.getState().loadQuery(window.location.search);
  writeUrl();
  void store.getState().connect();

  let timer: ReturnType<typeof setTimeout> | undefined;
  const stopConfigSync = store.subscribe(
    (state) => state.run,
    (run) => {
      writeUrl();
      clearTimeout(timer);
      // Training only starts from a configured run, so train() configures at once if
      // the person presses Train before the wait ends.
      timer = setTimeout(() => {
        const state = store.getState();
        if (state.connection === 'connected' && state.status !== 'running' && state.run === run) void state.configure(run);
      }, CONFIGURE_DELAY_MS);
    },
  );

  return () => {
    clearTimeout(timer);
    stopConfigSync();
  };
}

function writeUrl(): void {
  const query = `?${encodeRunQuery(useAppStore.getState().run)}`;
  if (query !== window.location.search) window.history.replaceState(null, '', query + window.location.hash);
}
