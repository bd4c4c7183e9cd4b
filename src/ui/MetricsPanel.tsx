import { useMemo } from 'react';
import { createLineChart, type LineChartOptions, type LinePoint } from '../charts/lineChart';
import { useAppStore } from '../store';
import type { AxisScale } from '../store/viewSlice';
import { useChart } from './useChart';

const formatPercent = (y: number) => `${Math.round(y * 100)}%`;

function LossChart({ scale }: { scale: AxisScale }) {
  const metrics = useAppStore((state) => state.metrics);
  const points = useMemo<LinePoint[]>(() => metrics.map((m) => ({ x: m.step, y: m.loss })), [metrics]);
  const options = useMemo<LineChartOptions>(
    () => ({ label: 'loss curve', xLabel: 'step', yLabel: 'loss (nats)', yScale: scale, color: 'var(--accent)' }),
    [scale],
  );
  const ref = useChart(createLineChart, options, points);
  return <div ref={ref} className="chart-host" />;
}

function AccuracyChart() {
  const metrics = useAppStore((state) => state.metrics);
  const points = useMemo<LinePoint[]>(() => metrics.map((m) => ({ x: m.step, y: m.accuracy })), [metrics]);
  const options = useMemo<LineChartOptions>(
    () => ({
      label: 'accuracy curve',
      xLabel: 'step',
      yLabel: 'answer accuracy',
      yScale: 'linear',
      yDomain: [0, 1],
      formatY: formatPercent,
      color: 'var(--accent-2)',
    }),
    [],
  );
  const ref = useChart(createLineChart, options, points);
  return <div ref={ref} className="chart-host" />;
}

/** Loss and answer-accuracy curves over training steps. */
export function MetricsPanel() {
  const lossScale = useAppStore((state) => state.lossScale);
  const setLossScale = useAppStore((state) => state.setLossScale);

  return (
    <section className="panel metrics" aria-labelledby="metrics-title">
      <div className="panel-header">
        <h2 id="metrics-title">Training</h2>
      </div>
      <div className="chart-pair">
        <figure>
          <figcaption>
            <span>Loss on answer positions</span>
            <span className="toggle" role="group" aria-label="Loss axis">
              {(['log', 'linear'] as const).map((scale) => (
                <button key={scale} type="button" aria-pressed={lossScale === scale} onClick={() => setLossScale(scale)}>
                  {scale}
                </button>
              ))}
            </span>
          </figcaption>
          <LossChart scale={lossScale} />
        </figure>
        <figure>
          <figcaption>
            <span>Answer accuracy</span>
          </figcaption>
          <AccuracyChart />
        </figure>
      </div>
    </section>
  );
}
