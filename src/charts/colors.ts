/**
 * Colour scales for the heatmaps. Pure functions with no DOM, so that they are
 * unit-tested under Node.
 */
import * as d3 from 'd3';

export type ColorKind = 'log-sequential' | 'diverging';

/** Number of entries in a lookup table built by buildColorTable. */
export const COLOR_TABLE_SIZE = 256;

/** Returns the d3 interpolator for a colour kind: viridis, or red-blue with blue for negative values. */
export function interpolatorFor(kind: ColorKind): (t: number) => string {
  if (kind === 'log-sequential') return d3.interpolateViridis;
  return (t: number) => d3.interpolateRdBu(1 - t);
}

/**
 * Maps a value to a position in [0, 1] along the colour scale. Values outside the
 * domain are clamped, and values that have no position (NaN, or not positive on a log
 * scale) return NaN so that the caller can leave the cell empty.
 */
export function colorPosition(kind: ColorKind, domain: [number, number], value: number): number {
  if (!Number.isFinite(value)) return NaN;
  const [lo, hi] = domain;
  let t: number;
  if (kind === 'log-sequential') {
    if (!(value > 0)) return NaN;
    t = (Math.log(value) - Math.log(lo)) / (Math.log(hi) - Math.log(lo));
  } else {
    t = (value - lo) / (hi - lo);
  }
  if (!Number.isFinite(t)) return 0.5;
  return Math.min(1, Math.max(0, t));
}

/** Builds a table of COLOR_TABLE_SIZE RGB triples, flat, for fast canvas fills. */
export function buildColorTable(kind: ColorKind): Uint8Array {
  const interpolate = interpolatorFor(kind);
  const table = new Uint8Array(COLOR_TABLE_SIZE * 3);
  for (let i = 0; i < COLOR_TABLE_SIZE; i++) {
    const rgb = d3.rgb(interpolate(i / (COLOR_TABLE_SIZE - 1)));
    table[i * 3] = Math.round(rgb.r);
    table[i * 3 + 1] = Math.round(rgb.g);
    table[i * 3 + 2] = Math.round(rgb.b);
  }
  return table;
}

/** Index into a colour table for a position in [0, 1]. */
export function colorTableIndex(t: number): number {
  return Math.min(COLOR_TABLE_SIZE - 1, Math.max(0, Math.round(t * (COLOR_TABLE_SIZE - 1))));
}
