/**
 * Wiring between the store and the world outside it: the URL mirrors the valid run
 * config, and a changed config is sent to the trainer once typing pauses.
 */
import { COMPARE_PARAM, encodeCompareLink } from '../studio/compareLink';
import type { StudioRun } from '../studio/types';
import { useAppStore } from './index';
import { startStudioSync } from './studioSync';
import { encodeRunQuery } from './url';
import { isAppView } from './viewSlice';

/** Wait after the last config change before rebuilding the run, in milliseconds. */
export const CONFIGURE_DELAY_MS = 300;

/**
 * Reads the config from the current URL, connects to the trainer and keeps both in
 * step with the store, and restores the studio's runs. Returns a function that stops
 * the syncing.
 */
export function startSync(): () => void {
  const store = useAppStore;
  store.getState().loadQuery(window.location.search);
  writeUrl();
  const readHash = () => {
    const view = window.location.hash.slice(1);
    if (isAppView(view)) store.getState().setView(view);
  };
  readHash();
  window.addEventListener('hashchange', readHash);
  const stopViewSync = store.subscribe(
    (state) => state.view,
    (view) => {
      const hash = view === 'train' ? '' : `#${view}`;
      if (window.location.hash !== hash) window.history.replaceState(null, '', window.location.pathname + window.location.search + hash);
    },
  );
  void store.getState().connect();
  const stopStudioSync = startStudioSync();
  const stopCompareSync = store.subscribe((state) => [state.studioRuns, state.studioStorage] as const, writeUrl, {
    equalityFn: (a, b) => a[0] === b[0] && a[1] === b[1],
  });

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
    stopViewSync();
    stopCompareSync();
    window.removeEventListener('hashchange', readHash);
    void stopStudioSync.then((stop) => stop());
  };
}

let lastLinkedRuns: StudioRun[] | null = null;
let lastCompareValue: string | null = null;

/**
 * Returns the `compare` parameter for the studio's runs: the opening link's own value
 * until the stored runs are loaded, then the configurations of the listed runs, or
 * null when there are none.
 */
function compareValue(): string | null {
  const state = useAppStore.getState();
  if (state.studioStorage === 'loading') return new URLSearchParams(window.location.search).get(COMPARE_PARAM);
  if (state.studioRuns !== lastLinkedRuns) {
    lastLinkedRuns = state.studioRuns;
    lastCompareValue =
      state.studioRuns.length === 0 ? null : encodeCompareLink(state.studioRuns.map((run) => ({ config: run.config, name: run.name, grid: run.grid })));
  }
  return lastCompareValue;
}

/** Writes the run config and the studio's runs into the query string. */
function writeUrl(): void {
  const compare = compareValue();
  const compareQuery = compare === null ? '' : `&${COMPARE_PARAM}=${encodeURIComponent(compare)}`;
  const query = `?${encodeRunQuery(useAppStore.getState().run)}${compareQuery}`;
  if (query !== window.location.search) window.history.replaceState(null, '', query + window.location.hash);
}
