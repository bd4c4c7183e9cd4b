/**
 * Placement of the log–log chart's marks that are not lines: slope labels in the
 * right margin, and bands over the lengths where a series did not fit in device
 * memory. Pure functions with no DOM.
 */

/** One point of a series. Where y is null the series was not measured, and `skipped` gives the reason. */
export interface LogLogPoint {
  x: number;
  y: number | null;
  skipped?: string;
}

/** Start of every skip reason that means the series did not fit in the device's memory or buffer limits. */
export const MEMORY_SKIP = 'exceeds device memory';

export function isMemorySkip(reason: string | undefined): boolean {
  return reason !== undefined && reason.startsWith(MEMORY_SKIP);
}

/**
 * Moves label positions (pixels, any order) so that neighbours are at least `gap`
 * apart and all lie in [min, max], keeping their order. When they cannot all fit,
 * they are spaced `gap` apart from min and the last ones lie past max.
 */
export function spreadLabels(positions: number[], gap: number, min: number, max: number): number[] {
  const order = positions.map((_, i) => i).sort((a, b) => positions[a] - positions[b]);
  const sorted = order.map((i) => Math.min(max, Math.max(min, positions[i])));

  // Push down from the top, then pull back up from the bottom edge.
  for (let k = 1; k < sorted.length; k++) sorted[k] = Math.max(sorted[k], sorted[k - 1] + gap);
  if (sorted.length > 0 && sorted[sorted.length - 1] > max) {
    sorted[sorted.length - 1] = max;
    for (let k = sorted.length - 2; k >= 0; k--) sorted[k] = Math.min(sorted[k], sorted[k + 1] - gap);
  }
  if (sorted.length > 0 && sorted[0] < min) {
    for (let k = 0; k < sorted.length; k++) sorted[k] = min + k * gap;
  }

  const result = new Array<number>(positions.length);
  order.forEach((i, k) => {
    result[i] = sorted[k];
  });
  return result;
}

/** A run of consecutive x values where at least one series exceeded device memory. */
export interface MemoryBand {
  /** First and last x of the run. */
  first: number;
  last: number;
  /** Edges to shade, in x units: halfway on the log axis to the neighbouring x values, or the run's own ends at the edges of the data. */
  left: number;
  right: number;
  /** Names of the series skipped for memory somewhere in the run, in series order. */
  series: string[];
}

/**
 * Groups the x values at which any series was skipped because it exceeds device
 * memory into runs of consecutive x values (consecutive among every x of every
 * series), so that each run can be shaded as one region.
 */
export function memoryBands(series: { name: string; points: LogLogPoint[] }[]): MemoryBand[] {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].filter((x) => x > 0).sort((a, b) => a - b);
  const namesAt = new Map<number, Set<string>>();
  for (const s of series) {
    for (const p of s.points) {
      if (p.y !== null || !isMemorySkip(p.skipped)) continue;
      if (!namesAt.has(p.x)) namesAt.set(p.x, new Set());
      namesAt.get(p.x)!.add(s.name);
    }
  }

  const bands: MemoryBand[] = [];
  let start = -1;
  for (let i = 0; i <= xs.length; i++) {
    const inBand = i < xs.length && namesAt.has(xs[i]);
    if (inBand && start < 0) start = i;
    if (inBand || start < 0) continue;

    const names = new Set<string>();
    for (let k = start; k < i; k++) for (const name of namesAt.get(xs[k])!) names.add(name);
    bands.push({
      first: xs[start],
      last: xs[i - 1],
      left: start > 0 ? Math.sqrt(xs[start - 1] * xs[start]) : xs[start],
      right: i < xs.length ? Math.sqrt(xs[i - 1] * xs[i]) : xs[i - 1],
      series: series.map((s) => s.name).filter((name) => names.has(name)),
    });
    start = -1;
  }
  return bands;
}

/**
 * Returns the one reason shared by every skipped point of a series that has no
 * measured point, such as "decoding is not measured yet", or null when the series
 * was measured somewhere or its reasons differ.
 */
export function sharedSkipReason(points: LogLogPoint[]): string | null {
  if (points.length === 0 || points.some((p) => p.y !== null)) return null;
  const reasons = new Set(points.map((p) => p.skipped));
  if (reasons.size !== 1) return null;
  const [reason] = reasons;
  return reason ?? null;
}
