/** The shape every chart module returns, and small DOM helpers they share. */

export interface Chart<T> {
  /** Redraws the chart with new data. */
  update(data: T): void;
  /** Removes the chart's elements and stops its observers. */
  dispose(): void;
}

/** Margins around a chart's plot area, in CSS pixels. */
export interface Margin {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

/**
 * Left and right margins of the plot area of line charts and heatmaps, in CSS pixels.
 * Both share them, so a line chart of the same width under a heatmap lines up with its
 * columns. The left margin fits the axis title and tick labels such as "0.008".
 */
export const PLOT_MARGIN_X = { left: 60, right: 16 } as const;

/** Width per x tick, in CSS pixels; line charts and heatmaps share it so their ticks match. */
export const X_TICK_SPACING = 80;

/** Number of x ticks to request for a plot area of this width. */
export function xTickCount(plotWidth: number): number {
  return Math.max(2, Math.floor(plotWidth / X_TICK_SPACING));
}

/**
 * Creates the chart's root element inside `element`: a div with role="img" and the
 * given aria-label, which screen readers and tests use to find the chart.
 */
export function createChartRoot(element: HTMLElement, label: string, className: string): HTMLDivElement {
  const root = document.createElement('div');
  root.className = `chart ${className}`;
  root.setAttribute('role', 'img');
  root.setAttribute('aria-label', label);
  element.appendChild(root);
  return root;
}

/**
 * Calls `onResize` with the element's content width whenever it changes, and returns a
 * function that stops observing. Widths below `minWidth` are raised to it so that a
 * hidden chart still lays out.
 */
export function observeWidth(element: HTMLElement, onResize: (width: number) => void, minWidth = 160): () => void {
  let lastWidth = -1;
  const observer = new ResizeObserver((entries) => {
    const width = Math.max(minWidth, Math.floor(entries[0].contentRect.width));
    if (width === lastWidth) return;
    lastWidth = width;
    onResize(width);
  });
  observer.observe(element);
  return () => observer.disconnect();
}

/** Current content width of an element, at least `minWidth`. */
export function widthOf(element: HTMLElement, minWidth = 160): number {
  return Math.max(minWidth, Math.floor(element.clientWidth));
}
