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
