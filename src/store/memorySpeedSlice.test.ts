import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { MemorySpeedPoint, MemorySpeedRequest, MemorySpeedResult } from '../bench/memorySpeedTypes';
import { MEMORY_SPEED_SERIES } from '../bench/memorySpeed';

// The store reaches the worker only through trainerClient, so the tests replace it with a fake trainer.
const trainer = {
  benchMemorySpeed: vi.fn<(request: MemorySpeedRequest, onPoint?: (point: MemorySpeedPoint) => void) => Promise<MemorySpeedResult>>(),
};
vi.mock('../trainerClient', () => ({
  getTrainer: () => trainer,
  subscribeToTrainer: async () => {},
  onWorkerFailure: () => () => {},
}));
// Comlink.proxy marks a callback for transfer to a worker; the fake trainer calls it directly.
vi.mock('comlink', async (importOriginal) => ({ ...(await importOriginal<typeof import('comlink')>()), proxy: <T>(value: T) => value }));

const { resetStore, useAppStore } = await import('./index');
const { DEFAULT_MEMORY_SPEED_REQUEST, MAX_SWEEP_LENGTHS, parseMemorySpeedTexts, parseSweepLengths, requestTexts } = await import('./memorySpeedSlice');

const TINY = { lengths: '16,32', d_model: '8', n_head: '2', d_state: '4', repeats: '1' };

function point(length: number, mambaMs: number): MemorySpeedPoint {
  const p = { length, skipped: {} } as MemorySpeedPoint;
  for (const series of MEMORY_SPEED_SERIES) p[series] = null;
  p.mamba_fwd_bwd_ms = mambaMs;
  return p;
}

beforeEach(() => {
  resetStore();
  trainer.benchMemorySpeed.mockReset();
});

describe('parseSweepLengths', () => {
  it('accepts ascending lengths', () => {
    expect(parseSweepLengths(' 16, 32 ,1024')).toEqual([16, 32, 1024]);
  });

  it('names a length that is not a number', () => {
    expect(parseSweepLengths('256,abc')).toContain('length = abc is invalid');
  });

  it('rejects an empty list', () => {
    expect(parseSweepLengths(' , ')).toContain('lengths is empty');
  });

  it('rejects lengths out of order', () => {
    const message = parseSweepLengths('512,256');
    expect(message).toContain('length = 256 after 512 is invalid');
    expect(message).toContain('from shortest to longest');
  });

  it('rejects a repeated length', () => {
    expect(parseSweepLengths('256,256')).toContain('length = 256 after 256 is invalid');
  });

  it('rejects too many lengths', () => {
    const text = Array.from({ length: MAX_SWEEP_LENGTHS + 1 }, (_, i) => i + 1).join(',');
    expect(parseSweepLengths(text)).toContain(`lengths has ${MAX_SWEEP_LENGTHS + 1} entries`);
  });
});

describe('parseMemorySpeedTexts', () => {
  it('gives the request of valid texts', () => {
    const parsed = parseMemorySpeedTexts(TINY);
    expect(parsed.errors).toBeNull();
    expect(parsed.request).toEqual({ lengths: [16, 32], d_model: 8, n_head: 2, d_state: 4, repeats: 1 });
  });

  it('round-trips the default request', () => {
    expect(parseMemorySpeedTexts(requestTexts(DEFAULT_MEMORY_SPEED_REQUEST)).request).toEqual(DEFAULT_MEMORY_SPEED_REQUEST);
  });

  it('rejects n_head that does not divide d_model', () => {
    const parsed = parseMemorySpeedTexts({ ...TINY, n_head: '3' });
    expect(parsed.request).toBeNull();
    expect(parsed.errors?.n_head).toBe('n_head = 3 does not divide d_model = 8: use a divisor of 8, such as 2');
  });

  it('names each out-of-range field and the fix', () => {
    const parsed = parseMemorySpeedTexts({ ...TINY, d_model: '2048', d_state: '0', repeats: '1.5' });
    expect(parsed.errors?.d_model).toBe('d_model = 2048 is out of range: use an integer from 1 to 1024, such as 256');
    expect(parsed.errors?.d_state).toBe('d_state = 0 is out of range: use an integer from 1 to 64, such as 16');
    expect(parsed.errors?.repeats).toBe('repeats = 1.5 is invalid: use an integer from 1 to 100, such as 3');
    expect(parsed.errors?.n_head).toBeUndefined();
    expect(parsed.errors?.lengths).toBeUndefined();
  });

  it('rejects an empty field', () => {
    expect(parseMemorySpeedTexts({ ...TINY, n_head: ' ' }).errors?.n_head).toBe('n_head is missing: enter an integer from 1 to 1024, such as 4');
  });
});

describe('memory and speed slice', () => {
  it('opens on the default sweep', () => {
    const state = useAppStore.getState();
    expect(state.memoryRequest).toEqual(DEFAULT_MEMORY_SPEED_REQUEST);
    expect(state.memoryTexts.lengths).toBe('256,512,1024,2048,4096,8192,16384,32768,65536');
    expect(state.memoryFieldErrors).toEqual({});
  });

  it('keeps the last valid request while a field is invalid', () => {
    useAppStore.getState().setMemoryField('n_head', '3');
    const state = useAppStore.getState();
    expect(state.memoryTexts.n_head).toBe('3');
    expect(state.memoryFieldErrors.n_head).toContain('n_head = 3 does not divide d_model = 256');
    expect(state.memoryRequest).toEqual(DEFAULT_MEMORY_SPEED_REQUEST);
  });

  it('clears the n_head error when d_model changes', () => {
    useAppStore.getState().setMemoryField('n_head', '3');
    useAppStore.getState().setMemoryField('d_model', '12');
    const state = useAppStore.getState();
    expect(state.memoryFieldErrors).toEqual({});
    expect(state.memoryRequest.d_model).toBe(12);
    expect(state.memoryRequest.n_head).toBe(3);
  });

  it('does not run while a field is invalid', async () => {
    useAppStore.getState().setMemoryField('lengths', '64,32');
    await useAppStore.getState().runMemorySpeed();
    expect(trainer.benchMemorySpeed).not.toHaveBeenCalled();
    expect(useAppStore.getState().memoryStatus).toBe('idle');
  });

  it('collects points as they arrive', async () => {
    for (const [field, text] of Object.entries(TINY)) useAppStore.getState().setMemoryField(field as keyof typeof TINY, text);
    const seen: number[] = [];
    const points = [point(16, 1), point(32, 2)];
    trainer.benchMemorySpeed.mockImplementation(async (request, onPoint) => {
      for (const p of points) {
        onPoint?.(p);
        seen.push(useAppStore.getState().memoryPoints.length);
      }
      return { bench: 'attention', device: 'test', d_model: request.d_model, n_head: request.n_head, d_state: request.d_state, timing: 'wall-clock', points, slopes: {}, crossover_length: null };
    });

    const running = useAppStore.getState().runMemorySpeed();
    expect(useAppStore.getState().memoryStatus).toBe('running');
    await running;

    expect(trainer.benchMemorySpeed.mock.calls[0][0]).toEqual({ lengths: [16, 32], d_model: 8, n_head: 2, d_state: 4, repeats: 1 });
    expect(seen).toEqual([1, 2]);
    const state = useAppStore.getState();
    expect(state.memoryStatus).toBe('done');
    expect(state.memoryPoints.map((p) => p.length)).toEqual([16, 32]);
    expect(state.memoryResult?.timing).toBe('wall-clock');
    expect(state.memoryRunRequest?.lengths).toEqual([16, 32]);
  });

  it('shows why the sweep failed', async () => {
    trainer.benchMemorySpeed.mockRejectedValue(new Error('the memory and speed sweep needs WebGPU, and no WebGPU adapter was found'));
    await useAppStore.getState().runMemorySpeed();
    const state = useAppStore.getState();
    expect(state.memoryStatus).toBe('error');
    expect(state.memoryError).toBe('The memory and speed sweep failed: the memory and speed sweep needs WebGPU, and no WebGPU adapter was found');
    expect(state.memoryResult).toBeNull();
  });
});
