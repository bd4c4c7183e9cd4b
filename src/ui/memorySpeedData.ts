/**
 * Chart series, table cells, ratios and the timing and crossover notes of the
 * "Memory and speed" view, computed from the sweep's points. Pure functions with no DOM.
 */
import type { MemorySpeedPoint, MemorySpeedResult, MemorySpeedSeries } from '../bench/memorySpeedTypes';
import type { LogLogSeries } from '../charts/logLogChart';
import { isMemorySkip } from '../charts/logLogMarks';

export interface SeriesSpec {
  key: MemorySpeedSeries;
  name: string;
  color: string;
  dashed?: boolean;
}

const MAMBA = '#4338ca';
const MAMBA_LIGHT = '#818cf8';
const TILED = '#b45309';
const TILED_LIGHT = '#f59e0b';
const NAIVE = '#b91c1c';
const NAIVE_LIGHT = '#f87171';

export const TIME_SERIES: SeriesSpec[] = [
  { key: 'mamba_fwd_ms', name: 'Mamba forward', color: MAMBA_LIGHT },
  { key: 'mamba_fwd_bwd_ms', name: 'Mamba forward + backward', color: MAMBA },
  { key: 'attention_fwd_ms', name: 'tiled attention forward', color: TILED_LIGHT },
  { key: 'attention_fwd_bwd_ms', name: 'tiled attention forward + backward', color: TILED },
  { key: 'attention_naive_fwd_ms', name: 'naive attention forward', color: NAIVE_LIGHT, dashed: true },
  { key: 'attention_naive_fwd_bwd_ms', name: 'naive attention forward + backward', color: NAIVE, dashed: true },
];

export const MEMORY_SERIES: SeriesSpec[] = [
  { key: 'mamba_bytes', name: 'Mamba', color: MAMBA },
  { key: 'attention_bytes', name: 'tiled attention', color: TILED },
  { key: 'attention_naive_bytes', name: 'naive attention', color: NAIVE, dashed: true },
];

export const DECODE_TIME_SERIES: SeriesSpec[] = [
  { key: 'mamba_decode_ms_per_token', name: 'Mamba', color: MAMBA },
  { key: 'attention_decode_ms_per_token', name: 'attention', color: TILED },
];

export const DECODE_SIZE_SERIES: SeriesSpec[] = [
  { key: 'mamba_decode_state_bytes', name: 'Mamba state', color: MAMBA },
  { key: 'attention_decode_cache_bytes', name: 'attention key-value cache', color: TILED },
];

/** Name of each series in the list of what was not measured. */
export const SERIES_LABELS: Record<MemorySpeedSeries, string> = {
  mamba_fwd_ms: 'Mamba forward',
  mamba_fwd_bwd_ms: 'Mamba forward + backward',
  attention_fwd_ms: 'tiled attention forward',
  attention_fwd_bwd_ms: 'tiled attention forward + backward',
  attention_naive_fwd_ms: 'naive attention forward',
  attention_naive_fwd_bwd_ms: 'naive attention forward + backward',
  mamba_bytes: 'Mamba peak memory',
  attention_bytes: 'tiled attention peak memory',
  attention_naive_bytes: 'naive attention peak memory',
  mamba_decode_ms_per_token: 'Mamba decoding time per token',
  attention_decode_ms_per_token: 'attention decoding time per token',
  mamba_decode_state_bytes: 'Mamba state size',
  attention_decode_cache_bytes: 'attention cache size',
};

/** Skipped measurements that share one reason: which series, and at which lengths. */
export interface SkipGroup {
  reason: string;
  series: string[];
  lengths: number[];
}

/** Groups every skipped measurement by its reason, in the order the reasons first occur. */
export function skipGroups(points: MemorySpeedPoint[]): SkipGroup[] {
  const groups = new Map<string, { series: Set<string>; lengths: Set<number> }>();
  for (const p of points) {
    for (const [key, reason] of Object.entries(p.skipped) as [MemorySpeedSeries, string][]) {
      if (!groups.has(reason)) groups.set(reason, { series: new Set(), lengths: new Set() });
      groups.get(reason)!.series.add(SERIES_LABELS[key]);
      groups.get(reason)!.lengths.add(p.length);
    }
  }
  return [...groups].map(([reason, g]) => ({ reason, series: [...g.series], lengths: [...g.lengths].sort((a, b) => a - b) }));
}

/** Turns the points into chart series, with each skipped point's reason. */
export function toLogLogSeries(points: MemorySpeedPoint[], specs: SeriesSpec[]): LogLogSeries[] {
  return specs.map((spec) => ({
    name: spec.name,
    color: spec.color,
    dashed: spec.dashed,
    points: points.map((p) => ({ x: p.length, y: p[spec.key], skipped: p.skipped[spec.key] })),
  }));
}

/** Formats milliseconds with two significant digits below 10 and one decimal above: 0.042, 3.1, 12.5. */
export function formatMs(ms: number): string {
  if (ms < 10) return Number(ms.toPrecision(2)).toString();
  return ms.toFixed(1);
}

/** Formats a byte count in decimal units, with up to two significant digits from 1 kB: 512 B, 1.5 kB, 130 MB, 4.3 GB. */
export function formatBytes(bytes: number): string {
  const units: [number, string][] = [
    [1e9, 'GB'],
    [1e6, 'MB'],
    [1e3, 'kB'],
  ];
  for (const [size, unit] of units) {
    if (bytes >= size) return `${Number((bytes / size).toPrecision(2))} ${unit}`;
  }
  return `${Math.round(bytes)} B`;
}

/** Formats numerator / denominator as "3.2×", or "—" when either is missing or the denominator is 0. */
export function ratioText(numerator: number | null, denominator: number | null): string {
  if (numerator === null || denominator === null || denominator === 0) return '—';
  const value = numerator / denominator;
  return `${value >= 10 ? value.toFixed(0) : value.toFixed(1)}×`;
}

/** Returns a table cell: the formatted value, or a short skip note with the full reason as its tooltip. */
export function cellText(point: MemorySpeedPoint, key: MemorySpeedSeries, format: (value: number) => string): { text: string; title?: string } {
  const value = point[key];
  if (value !== null) return { text: format(value) };
  const reason = point.skipped[key];
  if (reason === undefined) return { text: '—' };
  return { text: isMemorySkip(reason) ? 'over memory' : 'skipped', title: reason };
}

/** Describes how the times were measured, for the time chart's caption. */
export function timingText(result: Pick<MemorySpeedResult, 'timing'>, repeats: number): string {
  const runs = `median of ${repeats} ${repeats === 1 ? 'run' : 'runs'}`;
  if (result.timing === 'timestamp-query') return `Times: GPU timestamps from the first to the last compute pass, ${runs}.`;
  return `Times: wall time from submit until the GPU finished, ${runs}, because this device offers no GPU timestamps.`;
}

/** Describes where Mamba's forward + backward becomes faster than tiled attention's, within the measured lengths. */
export function crossoverText(result: Pick<MemorySpeedResult, 'crossover_length' | 'points'>): string {
  const crossover = result.crossover_length;
  if (crossover === null) {
    return "No crossover within these lengths: Mamba's forward + backward was not faster than tiled attention's at the longest length where both were measured.";
  }
  const both = result.points.filter((p) => p.mamba_fwd_bwd_ms !== null && p.attention_fwd_bwd_ms !== null).map((p) => p.length);
  if (crossover <= Math.min(...both)) {
    return `Mamba's forward + backward was faster than tiled attention's at every length where both were measured, so the crossover is at ${crossover} or shorter.`;
  }
  return `Crossover at length ${crossover}: from there on, Mamba's forward + backward is faster than tiled attention's at every measured length.`;
}
