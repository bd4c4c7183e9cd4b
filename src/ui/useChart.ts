import { useEffect, useRef } from 'react';
import type { Chart } from '../charts/chart';

/**
 * Mounts a d3 chart module in the returned ref's element. The chart is created again
 * when `create` or `options` change, so callers memoise `options`; it is updated
 * whenever `data` changes and disposed on unmount.
 */
export function useChart<T, O>(create: (element: HTMLElement, options: O) => Chart<T>, options: O, data: T) {
  const ref = useRef<HTMLDivElement>(null);
  const chartRef = useRef<Chart<T> | null>(null);
  const dataRef = useRef(data);

  // Effects run in order, so a chart created below starts from the latest data.
  useEffect(() => {
    dataRef.current = data;
  }, [data]);

  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const chart = create(element, options);
    chart.update(dataRef.current);
    chartRef.current = chart;
    return () => {
      chart.dispose();
      chartRef.current = null;
    };
  }, [create, options]);

  useEffect(() => {
    chartRef.current?.update(data);
  }, [data]);

  return ref;
}
