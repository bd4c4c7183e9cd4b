import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { EngineInfo, RunConfig, TrainerEvent } from '../protocol';

// The store reaches the worker only through trainerClient, so the tests replace it with a fake trainer.
const trainer = {
  configure: vi.fn<(run: RunConfig) => Promise<EngineInfo>>(),
  start: vi.fn<() => Promise<void>>(),
  pause: vi.fn<() => Promise<void>>(),
  reset: vi.fn<() => Promise<void>>(),
};
let listener: ((event: TrainerEvent) => void) | null = null;

vi.mock('../trainerClient', () => ({
  getTrainer: () => trainer,
  subscribeToTrainer: async (l: (event: TrainerEvent) => void) => {
    listener = l;
  },
  onWorkerFailure: () => () => {},
}));

const { resetStore, useAppStore } = await import('./index');
const { differsFromPreset } = await import('./configSlice');
const { findPreset } = await import('../presets');

const cpuInfo: EngineInfo = { kind: 'cpu', description: 'CPU', fallbackReason: 'no adapter', parameterCount: 100 };

beforeEach(() => {
  resetStore();
  listener = null;
  trainer.configure.mockReset().mockResolvedValue(cpuInfo);
  trainer.start.mockReset().mockResolvedValue();
  trainer.pause.mockReset().mockResolvedValue();
  trainer.reset.mockReset().mockResolvedValue();
});

describe('config slice', () => {
  it('opens on the default preset', () => {
    const { run, texts, fieldErrors } = useAppStore.getState();
    expect(run.preset).toBe('selective-copying-small');
    expect(texts.d_model).toBe('64');
    expect(fieldErrors).toEqual({});
  });

  it('keeps the last valid run while a field is invalid', () => {
    const before = useAppStore.getState().run;
    useAppStore.getState().setFieldText('d_state', '100');
    const state = useAppStore.getState();
    expect(state.fieldErrors.d_state).toContain('d_state = 100 is out of range');
    expect(state.texts.d_state).toBe('100');
    expect(state.run).toBe(before);
  });

  it('updates the run once the field is valid', () => {
    useAppStore.getState().setFieldText('d_state', '100');
    useAppStore.getState().setFieldText('d_state', '8');
    const state = useAppStore.getState();
    expect(state.fieldErrors).toEqual({});
    expect(state.run.model).toMatchObject({ d_state: 8 });
  });

  it('loads a preset and clears errors', () => {
    useAppStore.getState().setFieldText('d_model', '-3');
    useAppStore.getState().choosePreset('induction-heads-small');
    const state = useAppStore.getState();
    expect(state.fieldErrors).toEqual({});
    expect(state.run.task.kind).toBe('induction-heads');
    expect(state.texts.n_data).toBeUndefined();
  });

  it('switches task and keeps model sizes', () => {
    useAppStore.getState().setFieldText('d_model', '32');
    useAppStore.getState().setTaskKind('induction-heads');
    const state = useAppStore.getState();
    expect(state.run.task).toEqual({ kind: 'induction-heads', vocab_size: 16 });
    expect(state.run.model.d_model).toBe(32);
  });

  it('keeps the engine choice across presets', () => {
    useAppStore.getState().setEnginePreference('cpu');
    useAppStore.getState().choosePreset('induction-heads-small');
    expect(useAppStore.getState().run.engine).toBe('cpu');
    useAppStore.getState().choosePreset('e2e-tiny');
    expect(useAppStore.getState().run.engine).toBe('cpu');
  });

  it('takes the engine from a link', () => {
    useAppStore.getState().setEnginePreference('cpu');
    useAppStore.getState().loadQuery('?preset=e2e-tiny&engine=webgpu');
    expect(useAppStore.getState().run.engine).toBe('webgpu');
  });

  it('rewrites a field as its parsed value', () => {
    useAppStore.getState().setFieldText('learning_rate', '3e-3');
    useAppStore.getState().normalizeFieldText('learning_rate');
    expect(useAppStore.getState().texts.learning_rate).toBe('0.003');
    useAppStore.getState().setFieldText('d_model', '0x10');
    useAppStore.getState().normalizeFieldText('d_model');
    expect(useAppStore.getState().texts.d_model).toBe('0x10');
    expect(useAppStore.getState().fieldErrors.d_model).toContain('is not written in decimal digits');
  });

  it('loads link errors and clears one on edit', () => {
    useAppStore.getState().loadQuery('?preset=e2e-tiny&d_model=0');
    expect(useAppStore.getState().linkErrors.d_model).toContain('d_model = 0');
    expect(useAppStore.getState().run.model.d_model).toBe(16);
    useAppStore.getState().setFieldText('d_model', '24');
    expect(useAppStore.getState().linkErrors.d_model).toBeUndefined();
  });
});

describe('differsFromPreset', () => {
  const preset = findPreset('selective-copying-small')!;

  it('ignores the engine and key order', () => {
    const run = { ...preset.run, engine: 'cpu' as const, train: { ...preset.run.train } };
    const reordered = Object.fromEntries(Object.entries(run).reverse()) as typeof run;
    expect(differsFromPreset(reordered, preset)).toBe(false);
  });

  it('sees a changed field or task', () => {
    expect(differsFromPreset({ ...preset.run, max_steps: 5 }, preset)).toBe(true);
    expect(differsFromPreset({ ...preset.run, task: { kind: 'induction-heads', vocab_size: 16 } }, preset)).toBe(true);
  });

  it('sees a field set back to the preset value as unchanged', () => {
    useAppStore.getState().setFieldText('d_model', '32');
    useAppStore.getState().setFieldText('d_model', '64');
    expect(differsFromPreset(useAppStore.getState().run, preset)).toBe(false);
  });
});

describe('run slice', () => {
  it('configures the run on connect', async () => {
    await useAppStore.getState().connect();
    const state = useAppStore.getState();
    expect(trainer.configure).toHaveBeenCalledTimes(1);
    expect(trainer.configure.mock.calls[0][0]).toBe(state.run);
    expect(state.connection).toBe('connected');
    expect(state.engine).toEqual(cpuInfo);
    expect(state.configuredRun).toBe(state.run);
  });

  it('configures a changed run before training', async () => {
    await useAppStore.getState().connect();
    useAppStore.getState().setFieldText('seed', '7');
    await useAppStore.getState().train();
    expect(trainer.configure).toHaveBeenCalledTimes(2);
    expect(trainer.configure.mock.calls[1][0].train.seed).toBe(7);
    expect(trainer.start).toHaveBeenCalledTimes(1);
  });

  it('does not train with an invalid field', async () => {
    await useAppStore.getState().connect();
    useAppStore.getState().setFieldText('batch_size', '0');
    await useAppStore.getState().train();
    expect(trainer.start).not.toHaveBeenCalled();
  });

  it('sends only the last of several quick changes', async () => {
    await useAppStore.getState().connect();
    let release: () => void = () => {};
    trainer.configure.mockImplementationOnce(
      () => new Promise<EngineInfo>((resolve) => (release = () => resolve(cpuInfo))),
    );
    const first = useAppStore.getState().configure({ ...useAppStore.getState().run, max_steps: 1 });
    await vi.waitFor(() => expect(trainer.configure).toHaveBeenCalledTimes(2));
    useAppStore.getState().configure({ ...useAppStore.getState().run, max_steps: 2 });
    const last = { ...useAppStore.getState().run, max_steps: 3 };
    const done = useAppStore.getState().configure(last);
    release();
    await first;
    await done;
    const sent = trainer.configure.mock.calls.slice(1).map((call) => call[0].max_steps);
    expect(sent).toEqual([1, 3]);
    expect(useAppStore.getState().configuredRun).toBe(last);
    expect(useAppStore.getState().configuring).toBe(false);
  });

  it('shows a failed configure as an error', async () => {
    trainer.configure.mockRejectedValueOnce(new Error('WebGPU engine unavailable: no adapter'));
    await useAppStore.getState().connect();
    const state = useAppStore.getState();
    expect(state.error).toEqual({ kind: 'setup', message: 'WebGPU engine unavailable: no adapter' });
    expect(state.status).toBe('error');
    expect(state.engine).toBeNull();
  });

  it('sets the run up again on Train after a failed setup', async () => {
    trainer.configure.mockRejectedValueOnce(new Error('WebGPU engine unavailable: no adapter'));
    await useAppStore.getState().connect();
    expect(useAppStore.getState().status).toBe('error');

    useAppStore.getState().setEnginePreference('cpu');
    await useAppStore.getState().train();
    const state = useAppStore.getState();
    expect(trainer.configure).toHaveBeenCalledTimes(2);
    expect(trainer.configure.mock.calls[1][0].engine).toBe('cpu');
    expect(trainer.start).toHaveBeenCalledTimes(1);
    expect(state.error).toBeNull();
    expect(state.configuredRun).toBe(state.run);
  });

  it('retries the same run on Train after a failed setup', async () => {
    trainer.configure.mockRejectedValueOnce(new Error('device lost'));
    await useAppStore.getState().connect();
    await useAppStore.getState().train();
    expect(trainer.configure).toHaveBeenCalledTimes(2);
    expect(trainer.start).toHaveBeenCalledTimes(1);
  });

  it('builds the run again on Train after a training error', async () => {
    await useAppStore.getState().connect();
    listener!({ type: 'status', status: 'error', message: 'GPU error: device lost' });
    expect(useAppStore.getState().configuredRun).toBeNull();
    await useAppStore.getState().train();
    expect(trainer.configure).toHaveBeenCalledTimes(2);
    expect(trainer.start).toHaveBeenCalledTimes(1);
  });

  it('records metrics, probes and status events', async () => {
    await useAppStore.getState().connect();
    listener!({ type: 'status', status: 'running', message: null });
    listener!({
      type: 'metrics',
      step: 10,
      loss: 2.5,
      accuracy: 0.25,
      msPerStep: 5,
      stepsPerSecond: 200,
      tokensPerSecond: 12800,
      elapsedMs: 50,
    });
    const state = useAppStore.getState();
    expect(state.status).toBe('running');
    expect(state.metrics).toEqual([{ step: 10, loss: 2.5, accuracy: 0.25 }]);
    expect(state.latestMetrics?.step).toBe(10);
  });

  it('keeps a worker error visible', async () => {
    await useAppStore.getState().connect();
    listener!({ type: 'status', status: 'error', message: 'GPU error: device lost' });
    expect(useAppStore.getState().error).toEqual({ kind: 'training', message: 'GPU error: device lost' });
    expect(useAppStore.getState().status).toBe('error');
  });

  it('marks a pause in flight until training stops', async () => {
    await useAppStore.getState().connect();
    listener!({ type: 'status', status: 'running', message: null });
    let finishStep: () => void = () => {};
    trainer.pause.mockImplementationOnce(() => new Promise<void>((resolve) => (finishStep = resolve)));

    const pausing = useAppStore.getState().pause();
    expect(useAppStore.getState().pausing).toBe(true);
    void useAppStore.getState().pause();
    expect(trainer.pause).toHaveBeenCalledTimes(1);

    listener!({ type: 'status', status: 'paused', message: null });
    expect(useAppStore.getState().pausing).toBe(false);
    finishStep();
    await pausing;
    expect(useAppStore.getState().pausing).toBe(false);
  });

  it('starts a new history on an engine event', async () => {
    await useAppStore.getState().connect();
    listener!({ type: 'metrics', step: 3, loss: 1, accuracy: 0, msPerStep: 1, stepsPerSecond: 1, tokensPerSecond: 1, elapsedMs: 1 });
    listener!({ type: 'engine', info: cpuInfo });
    expect(useAppStore.getState().metrics).toEqual([]);
    expect(useAppStore.getState().latestMetrics).toBeNull();
  });

  it('resets through the trainer', async () => {
    await useAppStore.getState().connect();
    await useAppStore.getState().resetRun();
    expect(trainer.reset).toHaveBeenCalledTimes(1);
  });
});

describe('view slice', () => {
  it('selects a state channel and resets', () => {
    useAppStore.getState().selectState(1, 5);
    useAppStore.getState().setLossScale('linear');
    expect(useAppStore.getState()).toMatchObject({ stateLayer: 1, stateChannel: 5, lossScale: 'linear' });
    useAppStore.getState().resetView();
    expect(useAppStore.getState()).toMatchObject({ stateLayer: 0, stateChannel: 0, lossScale: 'log' });
  });
});
