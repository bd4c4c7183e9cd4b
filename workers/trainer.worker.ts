/**
 * The Web Worker entry: one Trainer exposed with comlink, and the run queue beside it
 * as its `queue` property. Starting either one pauses the other, so the live run and
 * the queue never train at the same time. When the page releases its proxy, comlink
 * calls the finalizer, which frees every engine (GPU buffers, pipelines and devices)
 * and then closes the worker.
 */
import * as Comlink from 'comlink';
import type { QueueEvent } from '../src/studio/queueProtocol';
import { QUEUE_PAUSED_BY_TRAINER } from '../src/studio/queueProtocol';
import { RunQueue } from './queue';
import { Trainer } from './trainer';

const gpu = () => self.navigator.gpu;
// The two hooks refer to each other, so `queue` is assigned right after the trainer.
let queue: RunQueue | null = null;
const trainer = new Trainer({ gpu, beforeStart: () => queue?.pause(QUEUE_PAUSED_BY_TRAINER) ?? Promise.resolve() });
const runQueue = new RunQueue({ gpu, beforeStart: () => trainer.pause() });
queue = runQueue;

// Final weights move to the page instead of being copied.
const subscribeToQueue = runQueue.subscribe.bind(runQueue);
runQueue.subscribe = (listener: (event: QueueEvent) => void) =>
  subscribeToQueue((event) => listener(event.type === 'run-weights' ? Comlink.transfer(event, [event.params.buffer]) : event));

const exposed = Object.assign(trainer, {
  queue: Comlink.proxy(runQueue),
  [Comlink.finalizer]: () => {
    Promise.all([runQueue.dispose(), trainer.dispose()])
      .catch((error: unknown) => console.error('Disposing the trainer and the run queue failed:', error))
      .finally(() => self.close());
  },
});

Comlink.expose(exposed);
