import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestNodeDevice } from '../engine/webgpu/node';
import { planAttentionBlock, planBytes, planMambaBlock } from './blocks';
import {
  checkBufferLimits, checkMemorySpeedRequest, crossoverLength, fitSlopes, formatBytes, MAX_RUN_MS, MEMORY_SPEED_SERIES, runMemorySpeedBench,
  timeLimitReason, type History,
} from './memorySpeed';
import type { MemorySpeedPoint, MemorySpeedSeries } from './memorySpeedTypes';

/** Returns a point with every series null except those given. */
function point(length: number, values: Partial<Record<MemorySpeedSeries, number>>): MemorySpeedPoint {
  const p = { length, skipped: {} } as MemorySpeedPoint;
  for (const series of MEMORY_SPEED_SERIES) p[series] = values[series] ?? null;
  return p;
}

const REQUEST = { lengths: [256, 1024], d_model: 64, n_head: 4, d_state: 16, repeats: 3 };

describe('memory and speed sweep: pure parts', () => {
  it('formatBytes uses two significant digits', () => {
    expect(formatBytes(4_294_967_296)).toBe('4.3 GB');
    expect(formatBytes(2_000_000_000)).toBe('2 GB');
    expect(formatBytes(134_217_728)).toBe('130 MB');
    expect(formatBytes(1536)).toBe('1.5 kB');
    expect(formatBytes(12)).toBe('12 B');
  });

  it('slopes fit power laws exactly', () => {
    const points = [256, 512, 1024, 4096].map((l) => point(l, {
      mamba_bytes: 100 * l,
      attention_naive_bytes: 3 * l * l,
      mamba_decode_ms_per_token: 0.5,
      attention_fwd_ms: 2e-3 * l ** 1.5,
    }));
    const slopes = fitSlopes(points);
    expect(slopes.mamba_bytes).toBeCloseTo(1, 10);
    expect(slopes.attention_naive_bytes).toBeCloseTo(2, 10);
    expect(slopes.mamba_decode_ms_per_token).toBeCloseTo(0, 10);
    expect(slopes.attention_fwd_ms).toBeCloseTo(1.5, 10);
    expect(slopes.mamba_fwd_ms).toBeNull();
    expect(Object.keys(slopes).sort()).toEqual([...MEMORY_SPEED_SERIES].sort());
  });

  it('slope skips null points and needs two', () => {
    const points = [point(256, { mamba_bytes: 256 }), point(512, {}), point(1024, { mamba_bytes: 1024 })];
    expect(fitSlopes(points).mamba_bytes).toBeCloseTo(1, 10);
    expect(fitSlopes(points.slice(0, 2)).mamba_bytes).toBeNull();
  });

  it('crossover is where Mamba stays faster', () => {
    const points = [
      point(256, { mamba_fwd_bwd_ms: 2, attention_fwd_bwd_ms: 1 }),
      point(512, { mamba_fwd_bwd_ms: 2, attention_fwd_bwd_ms: 3 }),
      point(1024, { mamba_fwd_bwd_ms: 4, attention_fwd_bwd_ms: 3 }),
      point(2048, { mamba_fwd_bwd_ms: 8, attention_fwd_bwd_ms: 12 }),
      point(4096, { mamba_fwd_bwd_ms: 16, attention_fwd_bwd_ms: 48 }),
    ];
    // Faster at 512 but slower again at 1024, so the crossover is 2048.
    expect(crossoverLength(points)).toBe(2048);
  });

  it('crossover ignores lengths missing a series', () => {
    const points = [
      point(256, { mamba_fwd_bwd_ms: 1, attention_fwd_bwd_ms: 2 }),
      point(512, { mamba_fwd_bwd_ms: 2 }),
      point(1024, { attention_fwd_bwd_ms: 3 }),
    ];
    expect(crossoverLength(points)).toBe(256);
  });

  it('crossover is null when Mamba ends slower', () => {
    expect(crossoverLength([point(256, { mamba_fwd_bwd_ms: 1, attention_fwd_bwd_ms: 2 }), point(512, { mamba_fwd_bwd_ms: 3, attention_fwd_bwd_ms: 3 })]))
      .toBeNull();
    expect(crossoverLength([point(256, { mamba_fwd_bwd_ms: 1 })])).toBeNull();
    expect(crossoverLength([])).toBeNull();
  });

  it('naive attention plan grows with length squared', () => {
    const shape = { length: 1000, d_model: 64, n_head: 4, d_state: 16 };
    const naive = planAttentionBlock(shape, 'naive');
    const tiled = planAttentionBlock(shape, 'tiled');
    expect(naive.forward.probs).toBe(4 * 1000 * 1000);
    expect(tiled.forward.probs).toBeUndefined();
    expect(tiled.backward.dDot).toBe(4 * 1000);
    // Past the parameters, the tiled block's buffers are linear in length.
    const doubled = planAttentionBlock({ ...shape, length: 2000 }, 'tiled');
    const params = 2 * 4 * tiled.forward.params;
    const bytes = (plan: typeof tiled) => planBytes({ ...plan.forward, ...plan.backward }) - params;
    expect(bytes(doubled)).toBe(2 * bytes(tiled));
  });

  it('Mamba plan grows linearly with length', () => {
    const limits = {
      maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupStorageSize: 16384,
      maxStorageBuffersPerShaderStage: 8,
    };
    const shape = { length: 4096, d_model: 64, n_head: 4, d_state: 16 };
    const bytes = (length: number) => {
      const plan = planMambaBlock(limits, { ...shape, length });
      return planBytes({ ...plan.forward, ...plan.backward });
    };
    // No buffer grows faster than length; the parameters and the conv partials stay fixed.
    const ratio = bytes(8192) / bytes(4096);
    expect(ratio).toBeGreaterThan(1.9);
    expect(ratio).toBeLessThanOrEqual(2);
    expect(planMambaBlock(limits, shape).forward.xb).toBe(4096 * 128);
  });

  it('buffer limit names the largest buffer', () => {
    const limits = { maxStorageBufferBindingSize: 2_000_000_000, maxBufferSize: 4_000_000_000 };
    expect(checkBufferLimits(limits, { a: 1000, b: 499_999_999 })).toBeNull();
    const reason = checkBufferLimits(limits, { a: 1000, probs: 1_073_741_824 });
    expect(reason).toBe(
      'exceeds device memory (its probs buffer needs 4.3 GB, the device allows 2 GB per buffer, maxStorageBufferBindingSize; 4.3 GB in all)',
    );
  });

  it('time limit extrapolates the last time', () => {
    const history: History = new Map([['attention_fwd_bwd_ms', { length: 1024, ms: MAX_RUN_MS / 4 }]]);
    // Quadratic growth reaches the limit exactly at twice the length, and passes it beyond.
    expect(timeLimitReason(history, 'attention_fwd_bwd_ms', 2048, 2)).toBeNull();
    expect(timeLimitReason(history, 'attention_fwd_bwd_ms', 4096, 2)).toBe(
      "skipped to bound the sweep's time: predicted 120 s per run (7500 ms at length 1024, growing as length^2), over the limit of 30 s per run",
    );
    expect(timeLimitReason(history, 'attention_fwd_bwd_ms', 4096, 1)).toBeNull();
    expect(timeLimitReason(history, 'attention_fwd_bwd_ms', 1 << 20, 0)).toBeNull();
    expect(timeLimitReason(history, 'mamba_fwd_bwd_ms', 1 << 20, 1)).toBeNull();
  });

  it('request check names the bad value', () => {
    expect(() => checkMemorySpeedRequest(REQUEST)).not.toThrow();
    expect(() => checkMemorySpeedRequest({ ...REQUEST, lengths: [] })).toThrow('lengths is empty');
    expect(() => checkMemorySpeedRequest({ ...REQUEST, lengths: [256, 0] })).toThrow('lengths[1] = 0 is invalid');
    expect(() => checkMemorySpeedRequest({ ...REQUEST, lengths: [1024, 256] })).toThrow('lengths[1] = 256 does not follow 1024');
    expect(() => checkMemorySpeedRequest({ ...REQUEST, n_head: 3 })).toThrow('n_head = 3 does not divide d_model = 64');
    expect(() => checkMemorySpeedRequest({ ...REQUEST, d_state: 65 })).toThrow('d_state = 65 is invalid: use an integer from 1 to 64');
    expect(() => checkMemorySpeedRequest({ ...REQUEST, repeats: 0.5 })).toThrow('repeats = 0.5 is invalid');
  });
});

describe('memory and speed sweep on Dawn', () => {
  let device: GPUDevice;
  let adapterName: string;
  beforeAll(async () => {
    ({ device, adapterName } = await requestNodeDevice(['timestamp-query']));
  });
  afterAll(() => device?.destroy());

  it('tiny sweep measures every block', async () => {
    const seen: number[] = [];
    const request = { lengths: [16, 33], d_model: 8, n_head: 2, d_state: 4, repeats: 2 };
    const result = await runMemorySpeedBench(device, adapterName, { ...request, onPoint: (p) => seen.push(p.length) });

    expect(seen).toEqual([16, 33]);
    expect(result.bench).toBe('attention');
    expect(result.device).toBe(adapterName);
    expect(result.timing).toBe(device.features.has('timestamp-query') ? 'timestamp-query' : 'wall-clock');
    expect([result.d_model, result.n_head, result.d_state]).toEqual([8, 2, 4]);
    for (const p of result.points) {
      for (const series of ['mamba_fwd_ms', 'mamba_fwd_bwd_ms', 'attention_fwd_ms', 'attention_fwd_bwd_ms', 'attention_naive_fwd_ms', 'attention_naive_fwd_bwd_ms'] as const) {
        // SwiftShader's timestamps advance in steps of 65.536 µs, so a tiny pass can measure 0.
        expect(p[series], `${series} at ${p.length}`).toBeGreaterThanOrEqual(0);
        expect(p.skipped[series]).toBeUndefined();
      }
      // The allocator's peak is the plan's storage buffers plus the uniforms of the dispatches, a few hundred bytes each block.
      const shape = { length: p.length, d_model: 8, n_head: 2, d_state: 4 };
      const plans = {
        mamba_bytes: planMambaBlock(device.limits, shape),
        attention_bytes: planAttentionBlock(shape, 'tiled'),
        attention_naive_bytes: planAttentionBlock(shape, 'naive'),
      };
      for (const [series, plan] of Object.entries(plans)) {
        const planned = planBytes({ ...plan.forward, ...plan.backward });
        const measured = p[series as MemorySpeedSeries]!;
        expect(measured, series).toBeGreaterThan(planned);
        expect(measured, series).toBeLessThan(planned + 2048);
      }
      expect(p.attention_naive_bytes! - p.attention_bytes!).toBeGreaterThan(4 * 2 * (p.length * p.length - p.length));

      expect(p.mamba_decode_ms_per_token).toBeGreaterThanOrEqual(0);
      expect(p.attention_decode_ms_per_token).toBeGreaterThanOrEqual(0);
      // d_inner 16 channels, each with a window of d_conv 4 inputs and d_state 4 states.
      expect(p.mamba_decode_state_bytes).toBe(4 * 16 * (4 + 4));
      // One key and one value of d_model 8 floats per cached token.
      expect(p.attention_decode_cache_bytes).toBe(2 * 4 * 8 * p.length);
      expect(p.skipped).toEqual({});
    }
    expect(result.points[1].mamba_bytes).toBeGreaterThan(result.points[0].mamba_bytes!);
    expect(Object.keys(result.slopes).sort()).toEqual([...MEMORY_SPEED_SERIES].sort());
  });

  it('tiny sweep skips a failed allocation', async () => {
    // Buffers of the Mamba block's xb are created invalid, as after running out of memory; MAP_READ may not be combined with STORAGE.
    const failing = new Proxy(device, {
      get(target, key) {
        if (key === 'createBuffer') {
          return (descriptor: GPUBufferDescriptor) => target.createBuffer(descriptor.label === 'mamba block: xb'
            ? { ...descriptor, usage: descriptor.usage | GPUBufferUsage.MAP_READ }
            : descriptor);
        }
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const result = await runMemorySpeedBench(failing, adapterName, { lengths: [16], d_model: 8, n_head: 2, d_state: 4, repeats: 1 });
    const [p] = result.points;
    for (const series of ['mamba_fwd_ms', 'mamba_fwd_bwd_ms', 'mamba_bytes'] as const) {
      expect(p[series], series).toBeNull();
      expect(p.skipped[series], series).toContain('the device reported a validation error');
    }
    expect(p.attention_fwd_bwd_ms).not.toBeNull();
    expect(p.mamba_decode_ms_per_token).not.toBeNull();
  });

  it('tiny sweep skips what exceeds the binding limit', async () => {
    // A binding limit of 64 kB leaves out the naive probabilities at length 128 (2 · 128² floats) and nothing else.
    const limited = new Proxy(device, {
      get(target, key) {
        if (key === 'limits') {
          return new Proxy(target.limits, {
            get: (limits, name) => (name === 'maxStorageBufferBindingSize' ? 65_536 : Reflect.get(limits, name, limits)),
          });
        }
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const result = await runMemorySpeedBench(limited, adapterName, { lengths: [128], d_model: 8, n_head: 2, d_state: 4, repeats: 1 });
    const [p] = result.points;
    expect(p.attention_naive_fwd_ms).toBeNull();
    expect(p.attention_naive_bytes).toBeNull();
    expect(p.skipped.attention_naive_fwd_ms).toContain('its probs buffer needs 130 kB, the device allows 66 kB per buffer');
    expect(p.mamba_fwd_bwd_ms).not.toBeNull();
    expect(p.attention_fwd_bwd_ms).not.toBeNull();
  });
});
