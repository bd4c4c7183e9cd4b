import { useMemo, useState } from 'react';
import { createMultiLineChart, type LineSeries, type MultiLineChartOptions } from '../../charts/multiLineChart';
import type { SeriesStyle } from '../../charts/seriesStyles';
import type { StudioRun } from '../../studio/types';
import { useChart } from '../useChart';
import { ChartExportButtons } from './ChartExportButtons';

/** A run as the curves draw it: its readings, legend label and line style. */
export interface CurveRun {
  run: StudioRun;
  label: string;
  style: SeriesStyle;
}

const EMPTY_TEXT = 'No readings yet: train the runs to draw their curves';
const formatPercent = (y: number) => `${Math.round(y * 100)}%`;

function seriesOf(runs: CurveRun[], value: (m: StudioRun['metrics'][number]) => number): LineSeries[] {
  return runs.map(({ run, label, style }) => ({
    name: label,
    color: style.color,
    dash: style.dash,
    points: run.metrics.map((m) => ({ x: m.step, y: value(m) })),
  }));
}

function CurveChart({ options, series, title }: { options: MultiLineChartOptions; series: LineSeries[]; title: string }) {
  const ref = useChart(createMultiLineChart, options, series);
  return (
    <>
      <ChartExportButtons host={ref} title={title} />
      <div ref={ref} className="chart-host" />
    </>
  );
}

/** Loss and answer-accuracy curves of the shown runs, overlaid on shared axes. */
export function CompareCurves({ runs }: { runs: CurveRun[] }) {
  const [lossScale, setLossScale] = useState<'log' | 'linear'>('log');
  const loss = useMemo(() => seriesOf(runs, (m) => m.loss), [runs]);
  const accuracy = useMemo(() => seriesOf(runs, (m) => m.accuracy), [runs]);
  const lossOptions = useMemo<MultiLineChartOptions>(
    () => ({ label: 'loss curves', xLabel: 'step', yLabel: 'loss (nats)', yScale: lossScale, emptyText: EMPTY_TEXT }),
    [lossScale],
  );
  const accuracyOptions = useMemo<MultiLineChartOptions>(
    () => ({
      label: 'accuracy curves',
      xLabel: 'step',
      yLabel: 'answer accuracy',
      yScale: 'linear',
      yDomain: [0, 1],
      formatY: formatPercent,
      emptyText: EMPTY_TEXT,
    }),
    [],
  );

  return (
    <section className="panel compare-curves" aria-labelledby="compare-curves-title">
      <div className="panel-header">
        <h2 id="compare-curves-title">Training curves</h2>
      </div>
      {runs.length === 0 ? (
        <p className="empty-note">Every run is hidden: tick Show in the results table to draw a run here.</p>
      ) : (
        <div className="chart-pair">
          <figure>
            <figcaption>
              <span>Loss on answer positions</span>
              <span className="toggle" role="group" aria-label="Loss axis of the compared runs">
                {(['log', 'linear'] as const).map((scale) => (
                  <button key={scale} type="button" aria-pressed={lossScale === scale} onClick={() => setLossScale(scale)}>
                    {scale}
                  </button>
                ))}
              </span>
            </figcaption>
            <CurveChart options={lossOptions} series={loss} title="loss curves" />
          </figure>
          <figure>
            <figcaption>
              <span>Answer accuracy</span>
            </figcaption>
            <CurveChart options={accuracyOptions} series={accuracy} title="accuracy curves" />
          </figure>
        </div>
      )}
    </section>
  );
}
