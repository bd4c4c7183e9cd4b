import { describe, expect, it } from 'vitest';
import { appendMetric, type MetricPoint } from './metrics';

const point = (step: number): MetricPoint => ({ step, loss: 1 / step, accuracy: 0 });

describe('appendMetric', () => {
  it('appends below the limit', () => {
    const points = appendMetric([point(1)], point(2), 4);
    expect(points.map((p) => p.step)).toEqual([1, 2]);
  });

  it('thins a full history by half', () => {
    let points: MetricPoint[] = [];
    for (let step = 1; step <= 8; step++) points = appendMetric(points, point(step), 8);
    expect(points.length).toBe(8);
    points = appendMetric(points, point(9), 8);
    expect(points.map((p) => p.step)).toEqual([1, 3, 5, 7, 8, 9]);
  });

  it('keeps the history bounded on long runs', () => {
    let points: MetricPoint[] = [];
    for (let step = 1; step <= 10_000; step++) points = appendMetric(points, point(step), 100);
    expect(points.length).toBeLessThanOrEqual(100);
    expect(points[0].step).toBe(1);
    expect(points[points.length - 1].step).toBe(10_000);
  });

  it('leaves the input array unchanged', () => {
    const before = [point(1), point(2)];
    appendMetric(before, point(3), 2);
    expect(before.map((p) => p.step)).toEqual([1, 2]);
  });
});
