/**
 * Line styles that distinguish the series of a multi-series chart. The colours are the
 * Okabe–Ito palette, chosen to stay distinct for colour-blind readers, without its
 * yellow, which is too light on white. Dash patterns follow once the colours repeat,
 * and none of them is the pattern reserved for published reference curves.
 * Pure functions with no DOM.
 */

export interface SeriesStyle {
  color: string;
  /** SVG stroke-dasharray; empty for a solid line. */
  dash: string;
}

export const SERIES_COLORS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000'] as const;

/** SVG stroke-dasharray of a published curve drawn in a run's colour, such as the paper's accuracy. */
export const REFERENCE_DASH = '6 3';

export const SERIES_DASHES = ['', '2 3', '10 3 2 3', '2 3 2 3 10 3'] as const;

/** Style of the series at `index`: unique for the first SERIES_COLORS.length · SERIES_DASHES.length series. */
export function seriesStyle(index: number): SeriesStyle {
  const i = Math.max(0, Math.floor(index));
  return {
    color: SERIES_COLORS[i % SERIES_COLORS.length],
    dash: SERIES_DASHES[Math.floor(i / SERIES_COLORS.length) % SERIES_DASHES.length],
  };
}
