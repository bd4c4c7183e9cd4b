/**
 * The page's connection to the length-extrapolation worker. The comlink proxy lives
 * here, not in store state, and the store calls these functions. The evaluation is
 * synchronous CPU work in the worker, so cancelling terminates the worker, and the
 * next evaluation starts a new one.
 */
import * as Comlink from 'comlink';
import type { ExtrapolationPoint } from './studio/evaluate';
import type { ExtrapolationApi, ExtrapolationRequest } from './studio/extrapolationProtocol';

/** The rejection of an evaluation that cancelEvaluation stopped. */
export class EvaluationCancelledError extends Error {
  constructor() {
    super('the evaluation was cancelled');
    this.name = 'EvaluationCancelledError';
  }
}

interface Connection {
  worker: Worker;
  remote: Comlink.Remote<ExtrapolationApi>;
  /** Rejects the evaluation in flight; comlink never settles a call whose worker was terminated. */
  rejectPending: ((error: Error) => void) | null;
}

let connection: Connection | null = null;

function connect(): Connection {
  if (connection) return connection;
  const worker = new Worker(new URL('../workers/evaluation.worker.ts', import.meta.url), { type: 'module' });
  const current: Connection = { worker, remote: Comlink.wrap<ExtrapolationApi>(worker), rejectPending: null };
  // A worker that fails to load reports here only, so the call in flight is rejected with the reason.
  worker.addEventListener('error', (event) => {
    event.preventDefault();
    current.rejectPending?.(new Error(`the evaluation worker failed: ${event.message || 'the script could not be loaded'}`));
    if (connection === current) close();
  });
  connection = current;
  return current;
}

function close(): void {
  if (!connection) return;
  connection.remote[Comlink.releaseProxy]();
  connection.worker.terminate();
  connection = null;
}

/**
 * Evaluates a run in the worker and calls onPoint with each length's point as it
 * finishes. The weights are moved to the worker, so `request.params` is empty
 * afterwards. Rejects with EvaluationCancelledError when cancelEvaluation stops it.
 */
export function evaluateInWorker(request: ExtrapolationRequest, onPoint: (point: ExtrapolationPoint) => void): Promise<ExtrapolationPoint[]> {
  const current = connect();
  if (current.rejectPending) return Promise.reject(new Error('an evaluation is already running: wait for it or cancel it first'));
  return new Promise<ExtrapolationPoint[]>((resolve, reject) => {
    current.rejectPending = reject;
    current.remote
      .evaluate(Comlink.transfer(request, [request.params.buffer]), Comlink.proxy(onPoint))
      .then(resolve, reject)
      .finally(() => {
        if (current.rejectPending === reject) current.rejectPending = null;
      });
  });
}

/** Stops the evaluation in flight, if any, by terminating its worker. Returns true when one was running. */
export function cancelEvaluation(): boolean {
  const pending = connection?.rejectPending ?? null;
  if (!pending) return false;
  close();
  pending(new EvaluationCancelledError());
  return true;
}

// During development a reloaded module would otherwise leave its worker running.
if (import.meta.hot) import.meta.hot.dispose(() => close());
