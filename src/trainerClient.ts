/**
 * The page's one connection to the trainer worker, which also runs the ablation
 * studio's run queue. The comlink proxy lives here, not in store state, and the
 * stores call these functions.
 */
import * as Comlink from 'comlink';
import type { TrainerApi, TrainerEvent } from './protocol';
import type { QueueEvent, RunQueueApi } from './studio/queueProtocol';

/**
 * The worker's API: the trainer, with the run queue as its `queue` property.
 * The queue is marked with Comlink.proxy, so calls on it run in the worker.
 */
type WorkerApi = TrainerApi & { queue: RunQueueApi & Comlink.ProxyMarked };

export type TrainerRemote = Comlink.Remote<TrainerApi>;
export type RunQueueRemote = Comlink.Remote<RunQueueApi>;

let worker: Worker | null = null;
let remote: Comlink.Remote<WorkerApi> | null = null;
const failureListeners = new Set<(message: string) => void>();

/** Returns the trainer proxy, starting the worker on first use. */
export function getTrainer(): Comlink.Remote<WorkerApi> {
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
  remote = Comlink.wrap<WorkerApi>(worker);
  return remote;
}

/** Returns the run queue's proxy, starting the worker on first use. */
export function getRunQueue(): RunQueueRemote {
  return getTrainer().queue;
}

/** Registers a listener for every trainer event; events arrive in the order they were sent. */
export function subscribeToTrainer(listener: (event: TrainerEvent) => void): Promise<void> {
  return getTrainer().subscribe(Comlink.proxy(listener));
}

/** Registers a listener for every run queue event; events arrive in the order they were sent. */
export function subscribeToQueue(listener: (event: QueueEvent) => void): Promise<void> {
  return getRunQueue().subscribe(Comlink.proxy(listener));
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
