/** The metric history kept for the loss and accuracy curves. */

export interface MetricPoint {
  step: number;
  loss: number;
  accuracy: number;
}

/** Most points kept per run; past it the history is thinned, so memory stays bounded on long runs. */
export const MAX_METRIC_POINTS = 4000;

/**
 * Returns the history with `point` appended. When the history is full, every second
 * point is dropped first, so that the curve keeps its shape over the whole run at half
 * the resolution. The first and the newest points are always kept.
 */
export function appendMetric(points: MetricPoint[], point: MetricPoint, maxPoints = MAX_METRIC_POINTS): MetricPoint[] {
  if (points.length < maxPoints) return [...points, point];
  const thinned = points.filter((_, i) => i % 2 === 0 || i === points.length - 1);
  thinned.push(point);
  return thinned;
}
