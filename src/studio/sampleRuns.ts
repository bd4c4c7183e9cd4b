/**
 * Trains small studio runs with the Trainer on the CPU engine, for tests and the
 * Compare view's browser test page: real metrics and a real probe, in a few seconds.
 * Runs the same code under Node and in a browser.
 */
import { Trainer } from '../../workers/trainer';
import type { MetricsEvent, ProbeEvent, RunConfig, TrainerEvent } from '../protocol';
import type { StudioRun } from './types';

export interface SampleRunRequest {
  name: string;
  config: RunConfig;
  /** Published accuracy to show beside the run, in [0, 1]. */
  paperAccuracy?: number;
  paperRow?: string;
}

/**
 * Trains the run's config on the CPU engine until max_steps, reading metrics every
 * step, and returns a finished StudioRun with its final probe. The config's max_steps
 * must be positive.
 */
export async function trainSampleRun(request: SampleRunRequest, id: string): Promise<StudioRun> {
  const config: RunConfig = { ...request.config, engine: 'cpu' };
  if (!(config.max_steps > 0)) throw new RangeError(`max_steps = ${config.max_steps} is invalid for a sample run: use a positive step count such as 40`);

  const trainer = new Trainer({ gpu: () => undefined, metricsIntervalMs: 0, probeIntervalMs: Infinity });
  const metrics: MetricsEvent[] = [];
  let failure: string | null = null;
  await trainer.subscribe((event: TrainerEvent) => {
    if (event.type === 'metrics') metrics.push(event);
    if (event.type === 'status' && event.status === 'error') failure = event.message;
  });

  try {
    const info = await trainer.configure(config);
    const createdAt = Date.now();
    await trainer.start();
    await trainer.finished();
    if (failure !== null) throw new Error(`sample run ${request.name} failed: ${failure}`);
    const probe: ProbeEvent = await trainer.probe();
    return {
      id,
      name: request.name,
      config,
      status: 'done',
      message: null,
      step: trainer.currentStep,
      metrics: metrics.map(({ step, loss, accuracy, elapsedMs, tokensPerSecond }) => ({ step, loss, accuracy, elapsedMs, tokensPerSecond })),
      probe,
      parameterCount: info.parameterCount,
      engine: info.description,
      createdAt,
      elapsedMs: metrics.at(-1)?.elapsedMs ?? 0,
      paperAccuracy: request.paperAccuracy ?? null,
      paperRow: request.paperRow ?? null,
      grid: null,
      paperCurve: null,
      extrapolation: null,
      checkpointStep: null,
      onHold: false,
    };
  } finally {
    await trainer.dispose();
  }
}
