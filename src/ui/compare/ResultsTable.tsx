import type { SeriesStyle } from '../../charts/seriesStyles';
import { exportFileName, metricsToCsv, runToJson } from '../../studio/export';
import { formatDuration, type ResultRow } from '../../studio/results';
import type { StudioRun } from '../../studio/types';
import { formatAccuracy, formatCount, formatLoss } from '../format';
import { downloadText } from './download';

const STATUS_WORDS: Record<StudioRun['status'], string> = {
  queued: 'queued',
  running: 'training',
  paused: 'paused',
  done: 'done',
  error: 'failed',
};

export interface ResultsTableProps {
  runs: StudioRun[];
  rows: ResultRow[];
  styles: SeriesStyle[];
  hidden: ReadonlySet<string>;
  onToggle(id: string): void;
}

/** Swatch of a run's line style, as the charts' legends draw it. */
export function RunSwatch({ style }: { style: SeriesStyle }) {
  return (
    <svg className="run-swatch" width="22" height="10" aria-hidden="true">
      <line x1="0" x2="22" y1="5" y2="5" stroke={style.color} strokeWidth="2.5" strokeDasharray={style.dash || undefined} />
    </svg>
  );
}

/**
 * Renders one row per run, as in the ablation tables of the Mamba paper (Gu and Dao,
 * 2023). A row names the run by what differs and gives its final accuracy, beside the
 * paper's published accuracy when the run reproduces a paper row. Loss, size, steps and
 * training time follow, then JSON and CSV downloads. A checkbox shows or hides the run
 * in the charts.
 */
export function ResultsTable({ runs, rows, styles, hidden, onToggle }: ResultsTableProps) {
  const hasPaper = rows.some((row) => row.paperAccuracy !== null);
  return (
    <div className="results-scroll">
      <table className="results-table">
        <thead>
          <tr>
            <th scope="col">Show</th>
            <th scope="col" className="text">
              Run
            </th>
            <th scope="col">Accuracy</th>
            {hasPaper && <th scope="col">Paper</th>}
            <th scope="col">Loss</th>
            <th scope="col">Parameters</th>
            <th scope="col">Steps</th>
            <th scope="col">Time</th>
            <th scope="col">Export</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row, i) => {
            const run = runs[i];
            return (
              <tr key={row.id} data-run-id={row.id}>
                <td>
                  <input type="checkbox" checked={!hidden.has(row.id)} onChange={() => onToggle(row.id)} aria-label={`Show ${row.label} in the charts`} />
                </td>
                <th scope="row" className="text">
                  <RunSwatch style={styles[i]} /> <span className="run-label">{row.label}</span>
                  <span className="run-meta">
                    {row.label !== row.name && <>{row.name} · </>}
                    {STATUS_WORDS[row.status]}
                    {row.status === 'error' && run.message ? `: ${run.message}` : ''}
                  </span>
                </th>
                <td>{row.finalAccuracy === null ? '–' : formatAccuracy(row.finalAccuracy)}</td>
                {hasPaper && (
                  <td title={row.paperRow ?? undefined}>
                    {row.paperAccuracy === null ? '–' : formatAccuracy(row.paperAccuracy)}
                    {row.paperRow && <span className="run-meta">{row.paperRow}</span>}
                  </td>
                )}
                <td>{row.finalLoss === null ? '–' : formatLoss(row.finalLoss)}</td>
                <td>{formatCount(row.parameterCount)}</td>
                <td>{formatCount(row.steps)}</td>
                <td>{row.steps === 0 ? '–' : formatDuration(row.elapsedMs)}</td>
                <td className="export-cell">
                  <button
                    type="button"
                    className="small-button"
                    aria-label={`Download ${row.label} as JSON`}
                    onClick={() => downloadText(runToJson(run), exportFileName(row.label, 'json'), 'application/json')}
                  >
                    JSON
                  </button>
                  <button
                    type="button"
                    className="small-button"
                    aria-label={`Download the metrics of ${row.label} as CSV`}
                    onClick={() => downloadText(metricsToCsv(run), exportFileName(row.label, 'csv'), 'text/csv')}
                  >
                    CSV
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
