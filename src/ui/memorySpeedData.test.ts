import { describe, expect, it } from 'vitest';
import type { MemorySpeedPoint, MemorySpeedSeries } from '../bench/memorySpeedTypes';
import { MEMORY_SPEED_SERIES } from '../bench/memorySpeed';
import {
  cellText, crossoverText, DECODE_SIZE_SERIES, DECODE_TIME_SERIES, formatBytes, formatMs, MEMORY_SERIES, ratioText, TIME_SERIES,
  SERIES_LABELS, skipGroups, timingText, toLogLogSeries,
} from './memorySpeedData';

function point(length: number, values: Partial<Record<MemorySpeedSeries, number>>, skipped: Partial<Record<MemorySpeedSeries, string>> = {}): MemorySpeedPoint {
  const p = { length, skipped } as MemorySpeedPoint;
  for (const series of MEMORY_SPEED_SERIES) p[series] = values[series] ?? null;
  return p;
}

const overMemory = 'exceeds device memory (its probs buffer needs 17 GB)';

describe('series specs', () => {
  it('cover every series once', () => {
    const keys = [...TIME_SERIES, ...MEMORY_SERIES, ...DECODE_TIME_SERIES, ...DECODE_SIZE_SERIES].map((s) => s.key);
    expect(keys.sort()).toEqual([...MEMORY_SPEED_SERIES].sort());
  });
});

describe('toLogLogSeries', () => {
  it('carries values and skip reasons per length', () => {
    const points = [point(256, { mamba_bytes: 10, attention_naive_bytes: 40 }), point(512, { mamba_bytes: 20 }, { attention_naive_bytes: overMemory })];
    const [mamba, , naive] = toLogLogSeries(points, MEMORY_SERIES);
    expect(mamba.name).toBe('Mamba');
    expect(mamba.points).toEqual([
      { x: 256, y: 10, skipped: undefined },
      { x: 512, y: 20, skipped: undefined },
    ]);
    expect(naive.dashed).toBe(true);
    expect(naive.points[1]).toEqual({ x: 512, y: null, skipped: overMemory });
  });
});

describe('formatMs', () => {
  it('keeps two significant digits below 10', () => {
    expect(formatMs(0.04213)).toBe('0.042');
    expect(formatMs(3.14159)).toBe('3.1');
    expect(formatMs(0)).toBe('0');
  });

  it('keeps one decimal from 10', () => {
    expect(formatMs(12.54)).toBe('12.5');
    expect(formatMs(1234.56)).toBe('1234.6');
  });
});

describe('formatBytes', () => {
  it('uses decimal units', () => {
    expect(formatBytes(4_294_967_296)).toBe('4.3 GB');
    expect(formatBytes(134_217_728)).toBe('130 MB');
    expect(formatBytes(1536)).toBe('1.5 kB');
    expect(formatBytes(1000)).toBe('1 kB');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(12)).toBe('12 B');
  });
});

describe('ratioText', () => {
  it('divides with one decimal below 10', () => {
    expect(ratioText(6.4, 2)).toBe('3.2×');
    expect(ratioText(1, 4)).toBe('0.3×');
  });

  it('rounds from 10', () => {
    expect(ratioText(250, 2)).toBe('125×');
  });

  it('shows a dash without both values', () => {
    expect(ratioText(null, 2)).toBe('—');
    expect(ratioText(2, null)).toBe('—');
    expect(ratioText(2, 0)).toBe('—');
  });
});

describe('cellText', () => {
  const p = point(1024, { mamba_fwd_ms: 1.234 }, { attention_naive_fwd_ms: overMemory, attention_fwd_ms: "skipped to bound the sweep's time" });

  it('formats a measured value', () => {
    expect(cellText(p, 'mamba_fwd_ms', formatMs)).toEqual({ text: '1.2' });
  });

  it('marks a series over memory', () => {
    expect(cellText(p, 'attention_naive_fwd_ms', formatMs)).toEqual({ text: 'over memory', title: overMemory });
  });

  it('marks a series skipped for another reason', () => {
    expect(cellText(p, 'attention_fwd_ms', formatMs)).toEqual({ text: 'skipped', title: "skipped to bound the sweep's time" });
  });

  it('shows a dash without a value or reason', () => {
    expect(cellText(p, 'mamba_bytes', formatBytes)).toEqual({ text: '—' });
  });
});

describe('timingText', () => {
  it('names GPU timestamps', () => {
    expect(timingText({ timing: 'timestamp-query' }, 3)).toContain('GPU timestamps');
    expect(timingText({ timing: 'timestamp-query' }, 3)).toContain('median of 3 runs');
  });

  it('names wall time and why', () => {
    const text = timingText({ timing: 'wall-clock' }, 1);
    expect(text).toContain('wall time');
    expect(text).toContain('median of 1 run,');
    expect(text).toContain('no GPU timestamps');
  });
});

describe('crossoverText', () => {
  const points = [256, 1024, 4096].map((length) => point(length, { mamba_fwd_bwd_ms: 1, attention_fwd_bwd_ms: 2 }));

  it('names the crossover length', () => {
    expect(crossoverText({ crossover_length: 1024, points })).toContain('Crossover at length 1024: from there on');
  });

  it('says when Mamba was faster at every length', () => {
    expect(crossoverText({ crossover_length: 256, points })).toContain('so the crossover is at 256 or shorter');
  });

  it('says when there is none', () => {
    expect(crossoverText({ crossover_length: null, points })).toContain('No crossover within these lengths');
  });
});

describe('skipGroups', () => {
  it('joins series and lengths that share a reason', () => {
    const decoding = 'decoding is not measured yet';
    const points = [
      point(256, {}, { mamba_decode_ms_per_token: decoding, attention_decode_ms_per_token: decoding }),
      point(512, {}, { mamba_decode_ms_per_token: decoding, attention_naive_bytes: overMemory }),
    ];
    expect(skipGroups(points)).toEqual([
      { reason: decoding, series: ['Mamba decoding time per token', 'attention decoding time per token'], lengths: [256, 512] },
      { reason: overMemory, series: ['naive attention peak memory'], lengths: [512] },
    ]);
  });

  it('returns nothing when every series was measured', () => {
    expect(skipGroups([point(256, { mamba_fwd_ms: 1 })])).toEqual([]);
  });

  it('labels every series', () => {
    expect(Object.keys(SERIES_LABELS).sort()).toEqual([...MEMORY_SPEED_SERIES].sort());
  });
});
