import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ExtrapolationPoint } from '../studio/evaluate';
import type { ExtrapolationRequest } from '../studio/extrapolationProtocol';
import type { StoredWeights } from '../studio/db';

// The store reaches the workers only through the client modules, so the tests replace them.
vi.mock('../trainerClient', () => ({
  getTrainer: () => ({}),
  getRunQueue: () => ({}),
  subscribeToTrainer: async () => {},
  subscribeToQueue: async () => {},
  onWorkerFailure: () => () => {},
}));

type OnPoint = (point: ExtrapolationPoint) => void;
const client = {
  evaluateInWorker: vi.fn<(request: ExtrapolationRequest, onPoint: OnPoint) => Promise<ExtrapolationPoint[]>>(),
  cancelEvaluation: vi.fn<() => boolean>(),
};
vi.mock('../evaluationClient', async (importActual) => ({
  ...(await importActual<typeof import('../evaluationClient')>()),
  evaluateInWorker: (request: ExtrapolationRequest, onPoint: OnPoint) => client.evaluateInWorker(request, onPoint),
  cancelEvaluation: () => client.cancelEvaluation(),
}));

const storedWeights = new Map<string, StoredWeights>();
vi.mock('./studioWeights', () => ({
  setWeightsDb: () => {},
  loadStudioWeights: async (id: string) => storedWeights.get(id),
}));

const { resetStore, useAppStore } = await import('./index');
const { EvaluationCancelledError } = await import('../evaluationClient');
const { ExtrapolationEvaluator } = await import('../../workers/evaluator');
const { E2E_EXTRAPOLATION_TINY } = await import('../studio/grids');
const { INDUCTION_EXTRAPOLATION_SMALL } = await import('../studio/paperPresets');
const { buildModelLayout, initModelParams, resolveModelConfig } = await import('../model/models');

const state = () => useAppStore.getState();

/** Adds the smoke-test grid, marks its runs done and stores seeded weights for each. */
function addTrainedTinyGrid() {
  const result = state().addGridRuns('e2e-extrapolation-tiny', 'cpu');
  if (!result.ok) throw new Error(result.errors.join('; '));
  useAppStore.setState({ studioRuns: state().studioRuns.map((run) => ({ ...run, status: 'done', step: run.config.max_steps })) });
  for (const run of result.runs) {
    const config = resolveModelConfig(run.config.model);
    storedWeights.set(run.id, { id: run.id, step: 30, params: initModelParams(config, buildModelLayout(config), 5), savedAt: 1 });
  }
  return result.runs;
}

function point(length: number, accuracy: number | null): ExtrapolationPoint {
  return accuracy === null
    ? { length, accuracy, status: 'positions beyond max_len', method: null, samples: 0, seconds: 0 }
    : { length, accuracy, status: 'ok', method: 'recurrent', samples: 8, seconds: 0.1 };
}

/** A promise and the functions that settle it, for an evaluation the test finishes by hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

beforeEach(() => {
  resetStore();
  storedWeights.clear();
  client.evaluateInWorker.mockReset();
  client.cancelEvaluation.mockReset().mockReturnValue(true);
});

describe('addGridRuns', () => {
  it('queues every run of the grid', () => {
    const result = state().addGridRuns('induction-extrapolation-small', 'webgpu');
    expect(result.ok).toBe(true);
    expect(state().studioRuns.map((run) => [run.name, run.grid, run.paperRow, run.config.engine, run.status])).toEqual([
      ['Mamba', 'induction-extrapolation-small', 'Mamba', 'webgpu', 'queued'],
      ['Attention, rotary', 'induction-extrapolation-small', 'MHA-RoPE', 'webgpu', 'queued'],
      ['Attention, absolute', 'induction-extrapolation-small', 'MHA-Abs', 'webgpu', 'queued'],
    ]);
    expect(state().studioRuns[2].paperCurve).toEqual(INDUCTION_EXTRAPOLATION_SMALL.runs[2].paperCurve);
  });

  it('appends after the listed runs', () => {
    state().addGridRuns('e2e-extrapolation-tiny', 'cpu');
    state().addGridRuns('paper-table1-small', 'auto');
    expect(state().studioRuns).toHaveLength(8);
    expect(state().studioRuns.map((run) => run.grid)).toEqual([
      ...Array(2).fill('e2e-extrapolation-tiny'),
      ...Array(6).fill('paper-table1-small'),
    ]);
  });

  it('rejects an unknown grid', () => {
    expect(state().addGridRuns('paper-table9', 'auto')).toEqual({
      ok: false,
      errors: ['grid "paper-table9" is not known: choose one of the listed grids'],
    });
    expect(state().studioRuns).toEqual([]);
  });
});

describe('saveExtrapolationPoint', () => {
  it('keeps one point per length in order', () => {
    const [run] = addTrainedTinyGrid();
    state().saveExtrapolationPoint(run.id, point(64, 0.5));
    state().saveExtrapolationPoint(run.id, point(16, 1));
    state().saveExtrapolationPoint(run.id, point(64, 0.75));
    expect(state().studioRuns[0].extrapolation).toEqual([point(16, 1), point(64, 0.75)]);
  });

  it('retraining clears the points', () => {
    const [run] = addTrainedTinyGrid();
    state().saveExtrapolationPoint(run.id, point(16, 1));
    state().applyQueueEvent({ type: 'run-engine', runId: run.id, info: { kind: 'cpu', description: 'CPU', fallbackReason: null, parameterCount: 1 }, step: 0, elapsedMs: 0 });
    expect(state().studioRuns[0].extrapolation).toBeNull();
  });
});

describe('evaluateExtrapolation', () => {
  it('saves the evaluator points on each run', async () => {
    const runs = addTrainedTinyGrid();
    const evaluator = new ExtrapolationEvaluator();
    const expected = new Map<string, ExtrapolationPoint[]>();
    client.evaluateInWorker.mockImplementation(async (request, onPoint) => {
      const points = await evaluator.evaluate(request, onPoint);
      expected.set(request.config.model.architecture ?? 'mamba', points);
      return points;
    });

    await state().evaluateExtrapolation(runs.map((run) => run.id));
    expect(client.evaluateInWorker).toHaveBeenCalledTimes(2);
    const [request] = client.evaluateInWorker.mock.calls[0];
    expect(request.seed).toBe(2001);
    expect(request.spec).toBe(E2E_EXTRAPOLATION_TINY.extrapolation);
    expect(request.config).toEqual(runs[0].config);

    const [mamba, attention] = state().studioRuns;
    expect(mamba.extrapolation).toEqual(expected.get('mamba'));
    expect(attention.extrapolation).toEqual(expected.get('transformer'));
    expect(attention.extrapolation!.map((p) => p.status)).toEqual(['ok', 'ok', 'ok', 'positions beyond max_len']);
    expect(state().extrapolationJob).toBeNull();
    expect(state().extrapolationNotes).toEqual({});
  });

  it('asks to train a run without weights', async () => {
    const [run] = addTrainedTinyGrid();
    storedWeights.delete(run.id);
    await state().evaluateExtrapolation([run.id]);
    expect(client.evaluateInWorker).not.toHaveBeenCalled();
    expect(state().extrapolationNotes).toEqual({ [run.id]: 'No final weights are stored for Mamba: train this run to the end first.' });
    expect(state().studioRuns[0].extrapolation).toBeNull();
  });

  it('notes a run outside an extrapolation grid', async () => {
    state().addGridRuns('paper-table1-small', 'auto');
    const run = state().studioRuns[0];
    await state().evaluateExtrapolation([run.id]);
    expect(client.evaluateInWorker).not.toHaveBeenCalled();
    expect(state().extrapolationNotes[run.id]).toBe(
      'S4 no gate is not part of a length-extrapolation grid: add the induction heads extrapolation grid to test one.',
    );
  });

  it('shows the evaluator error', async () => {
    const [run] = addTrainedTinyGrid();
    client.evaluateInWorker.mockRejectedValue(new Error('the stored weights have 3 values, and this model needs 9: train this run again'));
    await state().evaluateExtrapolation([run.id]);
    expect(state().extrapolationNotes[run.id]).toBe(
      'Evaluating Mamba failed: the stored weights have 3 values, and this model needs 9: train this run again',
    );
    expect(state().extrapolationJob).toBeNull();
  });

  it('cancel keeps the points so far', async () => {
    const [mamba, attention] = addTrainedTinyGrid();
    const call = deferred<ExtrapolationPoint[]>();
    let send: OnPoint = () => {};
    client.evaluateInWorker.mockImplementation((_request, onPoint) => {
      send = onPoint;
      return call.promise;
    });

    const finished = state().evaluateExtrapolation([mamba.id, attention.id]);
    await vi.waitFor(() => expect(client.evaluateInWorker).toHaveBeenCalledTimes(1));
    expect(state().extrapolationJob).toEqual({ runId: mamba.id, waiting: [attention.id], done: 0, total: 4 });
    send(point(16, 1));
    expect(state().extrapolationJob).toMatchObject({ done: 1, total: 4 });

    state().cancelExtrapolation();
    expect(client.cancelEvaluation).toHaveBeenCalledTimes(1);
    call.reject(new EvaluationCancelledError());
    await finished;

    expect(state().extrapolationJob).toBeNull();
    expect(state().studioRuns[0].extrapolation).toEqual([point(16, 1)]);
    expect(state().extrapolationNotes).toEqual({ [mamba.id]: 'Cancelled after 1 of 4 test lengths; the points so far are kept.' });
    // The waiting run was dropped.
    expect(client.evaluateInWorker).toHaveBeenCalledTimes(1);
    // A point that arrives after the cancel is ignored.
    send(point(32, 1));
    expect(state().studioRuns[0].extrapolation).toEqual([point(16, 1)]);
  });

  it('adds runs to an evaluation in flight', async () => {
    const [mamba, attention] = addTrainedTinyGrid();
    const calls: ReturnType<typeof deferred<ExtrapolationPoint[]>>[] = [];
    client.evaluateInWorker.mockImplementation(() => {
      calls.push(deferred<ExtrapolationPoint[]>());
      return calls.at(-1)!.promise;
    });

    const finished = state().evaluateExtrapolation([mamba.id]);
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    await state().evaluateExtrapolation([mamba.id, attention.id]);
    expect(state().extrapolationJob!.waiting).toEqual([attention.id]);

    calls[0].resolve([]);
    await vi.waitFor(() => expect(calls).toHaveLength(2));
    expect(client.evaluateInWorker.mock.calls[1][0].config).toEqual(attention.config);
    calls[1].resolve([]);
    await finished;
    expect(state().extrapolationJob).toBeNull();
  });
});
