/**
 * The ablation studio's Compare view. It shows the results table of all runs, their
 * loss and accuracy curves overlaid, the length extrapolation of runs from an
 * induction-heads grid, and the Δ heatmaps of two chosen runs side by side. It offers
 * JSON, CSV, SVG and PNG downloads and a link that reopens the comparison.
 *
 * Props contract:
 * - `runs`: the runs to compare, in list order. The view reads them and never changes
 *   them, so the caller's store stays their only owner. A run's line colour follows
 *   its index, and its label comes from what differs between the runs (runLabels), or
 *   its name. Runs of any status may appear: a queued run has no readings and no
 *   probe, and the view shows a note in place of its curves and heatmaps. Pass a new array
 *   when a run changes (as zustand does), because the charts redraw on identity.
 * - `messages`: problems found while reading a comparison link, shown above the view.
 * - `linkBase`: the page URL that the comparison link starts from; location.href by default.
 * - `extrapolation`: the evaluation state and the actions that start and cancel it. Without
 *   it, the length-extrapolation panel shows the runs' points and no buttons.
 *
 * The view keeps only view state of its own: which runs are hidden from the charts and
 * which two runs the heatmaps show. Hidden runs stay in the table and out of the link.
 * To restore runs from a link, a store calls studioRunsFromLink(location.search) from
 * src/studio/compareLink.ts, which returns queued StudioRuns and the messages.
 */
import { useMemo, useState } from 'react';
import { seriesStyle } from '../../charts/seriesStyles';
import { compareLinkUrl } from '../../studio/compareLink';
import { runLabels } from '../../studio/differences';
import { gridFileJson, resultsToCsv } from '../../studio/export';
import { resultRows } from '../../studio/results';
import type { StudioRun } from '../../studio/types';
import { panelRuns } from '../extrapolationData';
import { CompareCurves, type CurveRun } from './CompareCurves';
import { downloadText } from './download';
import { ExtrapolationPanel, type ExtrapolationControls } from './ExtrapolationPanel';
import { ProbeComparison } from './ProbeComparison';
import { ResultsTable } from './ResultsTable';
import './compare.css';

export interface CompareViewProps {
  runs: StudioRun[];
  messages?: string[];
  linkBase?: string;
  extrapolation?: ExtrapolationControls;
}

export function CompareView({ runs, messages = [], linkBase, extrapolation }: CompareViewProps) {
  const [hidden, setHidden] = useState<ReadonlySet<string>>(() => new Set());
  const labels = useMemo(() => runLabels(runs.map((run) => ({ config: run.config, name: run.name }))), [runs]);
  const styles = useMemo(() => runs.map((_, i) => seriesStyle(i)), [runs]);
  const rows = useMemo(() => resultRows(runs, labels), [runs, labels]);
  const described = useMemo<CurveRun[]>(() => runs.map((run, i) => ({ run, label: labels[i], style: styles[i] })), [runs, labels, styles]);
  const visibleRuns = useMemo(() => described.filter(({ run }) => !hidden.has(run.id)), [described, hidden]);
  const extrapolationRuns = useMemo(() => panelRuns(described), [described]);
  const shownExtrapolationRuns = useMemo(() => extrapolationRuns.filter(({ run }) => !hidden.has(run.id)), [extrapolationRuns, hidden]);

  const toggle = (id: string) =>
    setHidden((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <div className="compare-view">
      {messages.length > 0 && <LinkMessages messages={messages} />}
      <section className="panel compare-results" aria-labelledby="compare-results-title">
        <div className="panel-header">
          <h2 id="compare-results-title">Compare runs</h2>
          {runs.length > 0 && (
            <span className="compare-actions">
              <ShareLinkButton runs={visibleRuns.map(({ run }) => run)} linkBase={linkBase} />
              <button
                type="button"
                className="small-button"
                onClick={() => downloadText(resultsToCsv(rows), 'results.csv', 'text/csv')}
                aria-label="Download the results table as CSV"
              >
                Results CSV
              </button>
              <button
                type="button"
                className="small-button"
                onClick={() => downloadText(gridFileJson(runs), 'grid.json', 'application/json')}
                aria-label="Download the run configs as a grid file for npm run train -- --grid"
                title="Train these runs without a browser: npm run train -- --grid grid.json"
              >
                Grid file
              </button>
            </span>
          )}
        </div>
        {runs.length === 0 ? (
          <p className="empty-note">
            No runs to compare yet. Add runs to the queue in the Runs panel, or open a comparison link that someone shared.
          </p>
        ) : (
          <>
            <p className="panel-help">
              Each run is named by what differs from the others. Accuracy is the last reading on the answer positions;
              the paper column, where present, gives the published accuracy of the row a run reproduces.
            </p>
            <ResultsTable runs={runs} rows={rows} styles={styles} hidden={hidden} onToggle={toggle} />
          </>
        )}
      </section>
      {runs.length > 0 && (
        <>
          <CompareCurves runs={visibleRuns} />
          {extrapolationRuns.length > 0 && (
            <ExtrapolationPanel runs={extrapolationRuns} shown={shownExtrapolationRuns} controls={extrapolation} />
          )}
          <ProbeComparison runs={visibleRuns.length > 0 ? visibleRuns : described} />
        </>
      )}
    </div>
  );
}

function LinkMessages({ messages }: { messages: string[] }) {
  return (
    <div className="link-summary compare-link-messages" role="alert">
      <p>Some of the comparison link could not be used:</p>
      <ul>
        {messages.map((message, i) => (
          <li key={i}>{message}</li>
        ))}
      </ul>
    </div>
  );
}

/**
 * Builds the link to the visible runs' configs and seeds, copies it to the clipboard
 * when the browser allows, and shows it in a field to copy by hand otherwise.
 */
function ShareLinkButton({ runs, linkBase }: { runs: StudioRun[]; linkBase?: string }) {
  const [link, setLink] = useState<string | null>(null);
  const [note, setNote] = useState('');

  const share = async () => {
    const url = compareLinkUrl(linkBase ?? window.location.href, runs.map((run) => ({ config: run.config, name: run.name, grid: run.grid })));
    setLink(url);
    try {
      await navigator.clipboard.writeText(url);
      setNote(`Link to ${runs.length} run${runs.length === 1 ? '' : 's'} copied.`);
    } catch {
      setNote('The browser did not allow copying: copy the link from the field.');
    }
  };

  return (
    <span className="share-link">
      <button type="button" className="small-button" onClick={() => void share()} disabled={runs.length === 0}>
        Copy comparison link
      </button>
      <span className="share-note" aria-live="polite">
        {note}
      </span>
      {link && <input className="share-field" readOnly value={link} aria-label="comparison link" onFocus={(event) => event.target.select()} />}
    </span>
  );
}
