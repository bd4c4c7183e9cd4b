/** Axis and colour domains computed from data. Pure functions with no DOM. */

/**
 * Returns [min, max] over the positive finite values, for a log scale. When every value
 * is equal the domain is widened by half a decade on each side, and when no value is
 * positive it is [0.001, 1], so the result is always a valid log domain with min < max.
 */
export function logDomain(arrays: ArrayLike<number>[]): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const values of arrays) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!(v > 0) || !Number.isFinite(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (min === Infinity) return [0.001, 1];
  if (min === max) return [min / Math.sqrt(10), max * Math.sqrt(10)];
  return [min, max];
}

/**
 * Returns [-m, m] where m is the largest absolute finite value, so that zero sits in the
 * middle of a diverging scale. When every value is zero or none is finite, m is 1.
 */
export function symmetricDomain(arrays: ArrayLike<number>[]): [number, number] {
  let m = 0;
  for (const values of arrays) {
    for (let i = 0; i < values.length; i++) {
      const a = Math.abs(values[i]);
      if (Number.isFinite(a) && a > m) m = a;
    }
  }
  if (m === 0) m = 1;
  return [-m, m];
}

/**
 * Returns a y domain for a line chart from the finite values: their range padded by 5%
 * on a linear axis, or by a factor of 1.1 on a log axis, where only positive values
 * count. An empty or constant series still gives a domain with min < max.
 */
export function lineYDomain(values: number[], scale: 'linear' | 'log'): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v) || (scale === 'log' && v <= 0)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }

  if (scale === 'log') {
    if (min === Infinity) return [0.01, 10];
    return [min / 1.1, max * 1.1];
  }

  if (min === Infinity) return [0, 1];
  if (min === max) {
    const pad = Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 1;
    return [min - pad, max + pad];
  }
  const pad = (max - min) * 0.05;
  return [min - pad, max + pad];
}

/**
 * Keeps at most `max` of the ticks, evenly spaced and always including the first. d3's
 * log scale ignores the requested count across many decades, so the loss axis uses this.
 */
export function thinTicks(ticks: number[], max: number): number[] {
  if (ticks.length <= max || max < 1) return ticks;
  const stride = Math.ceil(ticks.length / max);
  return ticks.filter((_, i) => i % stride === 0);
}

/** Least-squares slope of log y against log x over the measured points; null with fewer than two. */
export function logLogSlope(points: { x: number; y: number | null }[]): number | null {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const p of points) {
    if (p.y !== null && p.y > 0 && p.x > 0) {
      xs.push(Math.log(p.x));
      ys.push(Math.log(p.y));
    }
  }
  if (xs.length < 2) return null;
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? null : num / den;
}

/**
 * Returns an x domain for a line chart: the range of the finite values. A single value
 * x > 0 gives [0, x], because the x values here are counts such as steps that start at
 * 0, and any other single value x gives [x, x + 1]. Without values it is [0, 1].
 */
export function lineXDomain(values: number[]): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === Infinity) return [0, 1];
  if (min === max) return min > 0 ? [0, min] : [min, min + 1];
  return [min, max];
}
