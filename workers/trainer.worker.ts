/**
 * The Web Worker entry: one Trainer exposed with comlink. When the page releases its
 * proxy, comlink calls the finalizer, which frees the engine (GPU buffers, pipelines
 * and device) and then closes the worker.
 */
import * as Comlink from 'comlink';
import { Trainer } from './trainer';

const trainer = new Trainer({ gpu: () => self.navigator.gpu });

const exposed = Object.assign(trainer, {
  [Comlink.finalizer]: () => {
    trainer
      .dispose()
      .catch((error: unknown) => console.error('Disposing the trainer failed:', error))
      .finally(() => self.close());
  },
});

Comlink.expose(exposed);
