import { useAppStore } from '../store';

/** Train, Pause and Reset, with a note on why Train is unavailable and what a config change does. */
export function RunButtons() {
  const status = useAppStore((state) => state.status);
  const statusNote = useAppStore((state) => state.statusNote);
  const connection = useAppStore((state) => state.connection);
  const configuring = useAppStore((state) => state.configuring);
  const pausing = useAppStore((state) => state.pausing);
  const errorKind = useAppStore((state) => state.error?.kind);
  const invalidCount = useAppStore((state) => Object.keys(state.fieldErrors).length);
  const train = useAppStore((state) => state.train);
  const pause = useAppStore((state) => state.pause);
  const resetRun = useAppStore((state) => state.resetRun);
  const queueRunning = useAppStore((state) => state.queueState === 'running');

  const connected = connection === 'connected';
  const running = status === 'running';
  // In the error state Train stays enabled: it sets the run up again, then trains.
  const canTrain = connected && !running && status !== 'done' && invalidCount === 0;

  let note = 'Changing a setting rebuilds the model and starts again from step 0.';
  if (invalidCount > 0) note = `Fix the ${invalidCount === 1 ? 'invalid field' : `${invalidCount} invalid fields`} to train.`;
  else if (!connected) note = 'Starting the trainer…';
  else if (status === 'done') note = `Training stopped: ${statusNote ?? 'the run is finished'}. Press Reset to train again.`;
  else if (pausing) note = 'Pausing after the step in flight…';
  else if (running) note = 'Pause to change settings.';
  else if (queueRunning) note = 'The run queue in the Compare view is training; pressing Train pauses it.';
  else if (status === 'error' && errorKind === 'setup') note = 'Setting up the run failed. Fix the setting the message names, then press Train.';
  else if (status === 'error') note = 'Press Train to build the model again and train from step 0.';

  return (
    <div className="run-buttons">
      <div className="button-row">
        <button type="button" className="primary" disabled={!canTrain} onClick={() => void train()}>
          Train
        </button>
        <button type="button" disabled={!running || pausing} onClick={() => void pause()}>
          Pause
        </button>
        <button type="button" disabled={!connected || configuring} onClick={() => void resetRun()}>
          Reset
        </button>
      </div>
      <p className="button-note">{note}</p>
    </div>
  );
}
