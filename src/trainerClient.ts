/**
 * The page's one connection to the trainer worker. The comlink proxy lives here,
 * not in store state, and the stores call these functions.
 */
import * as Comlink from 'comlink';
import type { TrainerApi, TrainerEvent } from './protocol';

export type TrainerRemote = Comlink.Remote<TrainerApi>;

let worker: Worker | null = null;
let remote: TrainerRemote | null = null;
const failureListeners = new Set<(message: string) => void>();

/** Returns the trainer proxy, starting the worker on first use. */
export function getTrainer(): TrainerRemote {
  if (remote) return remote;

  worker = new Worker(new URL('../workers/trainer.worker.ts', import.meta.url), { type: 'module' });
  // A worker that fails to load or throws outside a comlink call reports here only.
  worker.addEventListener('error', (event) => {
    event.preventDefault();
    reportFailure(`The trainer worker failed: ${event.message || 'the script could not be loaded'}`);
  });
  worker.addEventListener('messageerror', () => {
    reportFailure('The trainer worker sent a message that could not be read.');
  });
  remote = Comlink.wrap<TrainerApi>(worker);
  return remote;
}

/** Registers a listener for every trainer event; events arrive in the order they were sent. */
export function subscribeToTrainer(listener: (event: TrainerEvent) => void): Promise<void> {
  return getTrainer().subscribe(Comlink.proxy(listener));
}

/** Registers a listener for failures of the worker itself, outside any call; returns an unsubscribe function. */
export function onWorkerFailure(listener: (message: string) => void): () => void {
  failureListeners.add(listener);
  return () => failureListeners.delete(listener);
}

/**
 * Releases the proxy, so that the worker frees its engine and closes itself. A later
 * getTrainer() starts a new worker.
 */
export function disposeTrainer(): void {
  if (!remote) return;
  remote[Comlink.releaseProxy]();
  remote = null;
  worker = null;
}

function reportFailure(message: string): void {
  console.error(message);
  for (const listener of failureListeners) listener(message);
}

// During development a reloaded module would otherwise leave its worker running.
if (import.meta.hot) import.meta.hot.dispose(() => disposeTrainer());
