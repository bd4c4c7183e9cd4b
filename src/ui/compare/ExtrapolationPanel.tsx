import { useMemo } from 'react';
import { createMultiLineChart, type MultiLineChartOptions } from '../../charts/multiLineChart';
import { formatPowerOfTwo } from '../../charts/ticks';
import { exportFileName, extrapolationToCsv } from '../../studio/export';
import { extrapolationSpecFor } from '../../studio/grids';
import type { ExtrapolationJob } from '../../store/extrapolationSlice';
import {
  evaluableRunIds, extrapolationSeries, extrapolationTable, paperText, pointText, trainingRules, type ExtrapolationRun,
} from '../extrapolationData';
import { formatCount } from '../format';
import { useChart } from '../useChart';
import { ChartExportButtons } from './ChartExportButtons';
import { downloadText } from './download';
import { RunSwatch } from './ResultsTable';

/** Evaluation state and actions of the panel; without them the panel only shows the points. */
export interface ExtrapolationControls {
  job: ExtrapolationJob | null;
  /** Reason a run's last evaluation stopped early or did not start, by run id. */
  notes: Record<string, string>;
  onEvaluate(ids: string[]): void;
  onCancel(): void;
}

const formatPercent = (y: number) => `${Math.round(y * 100)}%`;

/** Renders the accuracy against test length, with the paper's curves dashed and a rule at each training length. */
function ExtrapolationChart({ runs }: { runs: ExtrapolationRun[] }) {
  const series = useMemo(() => extrapolationSeries(runs), [runs]);
  const rules = useMemo(() => trainingRules(runs), [runs]);
  // A new rule list rebuilds the chart, so the options depend on the rules' text only.
  const rulesKey = JSON.stringify(rules);
  const options = useMemo<MultiLineChartOptions>(
    () => ({
      label: 'length extrapolation',
      xLabel: 'test length (tokens, log₂ axis)',
      yLabel: 'answer accuracy',
      yScale: 'linear',
      yDomain: [0, 1],
      formatY: formatPercent,
      xScale: 'log2',
      formatX: formatPowerOfTwo,
      rules: JSON.parse(rulesKey) as typeof rules,
      height: 240,
      emptyText: 'No points yet: press Evaluate on a finished run',
    }),
    [rulesKey],
  );
  const ref = useChart(createMultiLineChart, options, series);
  return (
    <figure>
      <figcaption>
        <span>Answer accuracy against test length</span>
        <ChartExportButtons host={ref} title="length extrapolation" />
      </figcaption>
      <div ref={ref} className="chart-host" />
    </figure>
  );
}

/** Returns the status of a run's evaluation for its table row: evaluating, waiting, or the note on its last attempt. */
function rowStatus(id: string, controls: ExtrapolationControls | undefined): string | null {
  const job = controls?.job;
  if (job?.runId === id) return job.total > 0 ? `Evaluating: ${job.done} of ${job.total} lengths…` : 'Loading its weights…';
  if (job?.waiting.includes(id)) return 'Waiting to be evaluated.';
  return controls?.notes[id] ?? null;
}

/** Renders one row per run and one column per test length, with the paper's value under each point. */
function ExtrapolationTableView({ runs, controls }: { runs: ExtrapolationRun[]; controls?: ExtrapolationControls }) {
  const table = useMemo(() => extrapolationTable(runs), [runs]);
  const busy = new Set(controls?.job ? [controls.job.runId, ...controls.job.waiting] : []);
  return (
    <div className="results-scroll">
      <table className="results-table extrapolation-table" aria-label="Accuracy per test length">
        <thead>
          <tr>
            <th scope="col" className="text">
              Run
            </th>
            {controls && (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            )}
            {table.lengths.map((length) => (
              <th key={length} scope="col" title={`${formatCount(length)} tokens`}>
                {formatPowerOfTwo(length)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {table.rows.map(({ entry, cells }) => {
            const { run, label, style } = entry;
            const status = rowStatus(run.id, controls);
            const samples = extrapolationSpecFor(run)?.samples;
            return (
              <tr key={run.id} data-run-id={run.id}>
                <th scope="row" className="text">
                  <RunSwatch style={style} /> <span className="run-label">{label}</span>
                  <span className="run-meta">
                    {label !== run.name && <>{run.name} · </>}
                    trained at {formatCount(run.config.train.seq_len)}
                    {run.paperRow ? ` · paper row ${run.paperRow}` : ''}
                    {samples !== undefined && ` · ${formatCount(samples)} test sequences per length`}
                  </span>
                  {status && (
                    <span className="run-meta extrapolation-status" role="status">
                      {status}
                    </span>
                  )}
                </th>
                {controls && (
                  <td>
                    {extrapolationSpecFor(run) && (
                      <button
                        type="button"
                        className="small-button"
                        aria-label={`Evaluate ${label} at every test length`}
                        disabled={busy.has(run.id)}
                        onClick={() => controls.onEvaluate([run.id])}
                      >
                        Evaluate
                      </button>
                    )}
                  </td>
                )}
                {cells.map(({ length, point, paper }) => (
                  <td
                    key={length}
                    className={point && point.accuracy === null ? 'skipped-cell' : undefined}
                    data-length={length}
                    title={point?.method ? `${point.method}, ${point.samples} sequences, ${point.seconds} s` : undefined}
                  >
                    {pointText(point)}
                    {paper && <span className="run-meta">{paperText(paper)}</span>}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/**
 * Renders the Compare view's length-extrapolation panel: runs of an induction-heads grid,
 * trained at one length and tested at many, beside the accuracy the Mamba paper
 * published for the same models. `runs` are the runs to list, `shown` those drawn in
 * the chart (the results table's Show boxes).
 */
export function ExtrapolationPanel({ runs, shown, controls }: { runs: ExtrapolationRun[]; shown: ExtrapolationRun[]; controls?: ExtrapolationControls }) {
  const finished = evaluableRunIds(runs.map(({ run }) => run));
  const job = controls?.job ?? null;
  const current = job?.runId ? runs.find(({ run }) => run.id === job.runId) : undefined;

  return (
    <section className="panel compare-extrapolation" aria-labelledby="compare-extrapolation-title">
      <div className="panel-header">
        <h2 id="compare-extrapolation-title">Length extrapolation</h2>
        <span className="compare-actions">
          {controls &&
            (job ? (
              <button type="button" className="small-button" onClick={controls.onCancel}>
                Cancel evaluation
              </button>
            ) : (
              <button type="button" className="small-button" disabled={finished.length === 0} onClick={() => controls.onEvaluate(finished)}>
                Evaluate all finished runs
              </button>
            ))}
          <button
            type="button"
            className="small-button"
            aria-label="Download the extrapolation points as CSV"
            onClick={() => downloadText(extrapolationToCsv(runs), exportFileName('length extrapolation', 'csv'), 'text/csv')}
          >
            Points CSV
          </button>
        </span>
      </div>
      <p className="panel-help">
        Each model learned induction heads at one sequence length, marked by the vertical rule: when a trigger token comes
        back at the end, output the token that followed it the first time. Here the trained model is tested on shorter and
        much longer sequences. Solid lines are the runs in this tab. A dashed line in the same colour is the accuracy the
        Mamba paper (Gu and Dao, 2023) reports for the same kind of model trained at length 256, drawn at the same
        multiple of the training length: for a run trained at 16, the paper's value at 512 (twice 256) is drawn at 32.
        There, Mamba stays at 100% up to 2²⁰ tokens, 4,096 times its training length, because its state has the same size
        at any length. Attention drops as soon as the test length passes its training length: the paper's attention
        models are below 85% at twice their training length and near a quarter at four times.
      </p>
      <p className="panel-help">
        Both are tested on the CPU: Mamba one token at a time through its recurrent state, attention with its parallel
        forward over the whole sequence. An × above the plot marks a length where attention could not run, with the reason, such as positions
        beyond its learned position table (max_len) or a forward pass that exceeds memory. It is not a score of zero.
      </p>
      {job && (
        <p className="extrapolation-progress" aria-live="polite">
          {current ? `Evaluating ${current.label}` : 'Starting the evaluation'}
          {job.total > 0 ? `: ${job.done} of ${job.total} test lengths done.` : '.'}
          {job.waiting.length > 0 ? ` ${job.waiting.length} more ${job.waiting.length === 1 ? 'run waits' : 'runs wait'}.` : ''}
        </p>
      )}
      {shown.length === 0 ? (
        <p className="empty-note">Every run here is hidden: tick Show in the results table to draw a run.</p>
      ) : (
        <ExtrapolationChart runs={shown} />
      )}
      <ExtrapolationTableView runs={runs} controls={controls} />
    </section>
  );
}
