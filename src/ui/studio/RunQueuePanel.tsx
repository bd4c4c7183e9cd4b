import { useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useAppStore } from '../../store';
import { estimateTimeLeft, overallProgress, type TimeLeft } from '../../studio/estimate';
import { INTERLEAVE_STEPS, type QueueMode } from '../../studio/queueProtocol';
import { startsWithQueue, type StudioRun } from '../../studio/types';
import { formatDuration } from '../format';
import { AddGridForm } from './AddGridForm';
import { AddRunsForm } from './AddRunsForm';
import { RunRow } from './RunRow';

const MODE_LABELS: Record<QueueMode, string> = {
  sequential: 'one after another',
  interleaved: `interleaved, ${INTERLEAVE_STEPS} steps each in turn`,
};

/** Renders the buttons that start or pause the queue, and the choice of how it orders training. */
function QueueControls() {
  const queueState = useAppStore((state) => state.queueState);
  const queueMode = useAppStore((state) => state.queueMode);
  const waiting = useAppStore((state) => state.studioRuns.some(startsWithQueue));
  const startQueue = useAppStore((state) => state.startQueue);
  const pauseQueue = useAppStore((state) => state.pauseQueue);
  const setQueueMode = useAppStore((state) => state.setQueueMode);
  const running = queueState === 'running';

  return (
    <div className="queue-controls">
      <label className="inline-select">
        Train runs{' '}
        <select value={queueMode} onChange={(event) => void setQueueMode(event.target.value as QueueMode)}>
          {(Object.keys(MODE_LABELS) as QueueMode[]).map((mode) => (
            <option key={mode} value={mode}>
              {MODE_LABELS[mode]}
            </option>
          ))}
        </select>
      </label>
      <div className="button-row">
        {running ? (
          <button type="button" onClick={() => void pauseQueue()}>
            Pause queue
          </button>
        ) : (
          <button type="button" className="primary" disabled={!waiting} onClick={() => void startQueue()}>
            Start queue
          </button>
        )}
      </div>
    </div>
  );
}

/** Renders the queue's state, the steps done over all runs and the estimated time left. */
function QueueSummary({ runs, estimate }: { runs: StudioRun[]; estimate: TimeLeft }) {
  const queueState = useAppStore((state) => state.queueState);
  const queueMessage = useAppStore((state) => state.queueMessage);
  const progress = overallProgress(runs);

  // After a reload the queue in the worker is new and idle, while saved runs may still wait for Start.
  let stateText = runs.some(startsWithQueue) ? 'Queue stopped: Start queue trains the waiting runs.' : 'Queue idle.';
  if (queueState === 'running') stateText = 'Queue training.';
  else if (queueState === 'paused') stateText = queueMessage ? `Queue paused: ${queueMessage}.` : 'Queue paused.';

  let timeText = '';
  if (estimate.totalMs === null) timeText = 'Time left: known once a run has trained a few steps.';
  else if (estimate.totalMs > 0) timeText = `Time left: ${estimate.estimated ? 'about ' : ''}${formatDuration(estimate.totalMs)}.`;

  return (
    <div className="queue-summary">
      <progress aria-label="Progress of all runs" max={Math.max(progress.total, 1)} value={progress.done} />
      <p aria-live="polite">
        {stateText} {progress.done} of {progress.total} steps. {timeText}
      </p>
    </div>
  );
}

/**
 * Renders the ablation studio's runs: the list with each run's status, progress and
 * time left, the queue's controls, and the forms that add runs from the Train view's
 * config or from a grid of the Mamba paper. The Compare view places it at its top.
 */
export function RunQueuePanel() {
  const runs = useAppStore((state) => state.studioRuns);
  const mode = useAppStore((state) => state.queueMode);
  const liveRunIds = useAppStore(useShallow((state) => state.liveRunIds));
  const estimate = useMemo(() => estimateTimeLeft(runs, mode, (run) => liveRunIds.includes(run.id)), [runs, mode, liveRunIds]);
  const storage = useAppStore((state) => state.studioStorage);
  const error = useAppStore((state) => state.studioError);
  const dismissError = useAppStore((state) => state.dismissStudioError);

  return (
    <section className="panel run-queue" aria-labelledby="run-queue-title">
      <div className="panel-header">
        <h2 id="run-queue-title">Runs</h2>
        <QueueControls />
      </div>
      <p className="panel-help">
        Queue runs that differ in one setting and train them in this tab, on the engine each run names. Starting the
        queue pauses training in the Train view, and pressing Train there pauses the queue. Runs and their progress are
        saved in this browser at each pause and every 20 seconds while a run trains, so a run that was training when the
        page closed resumes from its last saved step.
      </p>
      {error && (
        <div className="studio-error" role="alert">
          <span>{error}</span>
          <button type="button" className="dismiss" aria-label="Dismiss the message" onClick={dismissError}>
            ×
          </button>
        </div>
      )}
      <QueueSummary runs={runs} estimate={estimate} />
      {runs.length === 0 ? (
        <p className="empty-note">{storage === 'loading' ? 'Loading saved runs…' : 'No runs yet. Add the Train view’s config below.'}</p>
      ) : (
        <div className="run-table-scroll">
          <table className="run-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Differs from the first run</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col">Finishes in</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {runs.map((run, index) => (
                <RunRow
                  key={run.id}
                  run={run}
                  first={runs[0]}
                  index={index}
                  count={runs.length}
                  live={liveRunIds.includes(run.id)}
                  timeLeftMs={estimate.byRun.get(run.id)}
                  estimated={estimate.estimated}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <AddRunsForm />
      <AddGridForm />
    </section>
  );
}
