import { useAppStore } from '../store';
import { engineLabel, formatCount, formatRate, statusText } from './format';

/**
 * Renders the live status line, throughput, and the engine in use: with the reason when
 * WebGPU is not used, or a note when the CPU engine was chosen.
 */
export function StatusPanel() {
  const status = useAppStore((state) => state.status);
  const configuring = useAppStore((state) => state.configuring);
  const pausing = useAppStore((state) => state.pausing);
  const latest = useAppStore((state) => state.latestMetrics);
  const engine = useAppStore((state) => state.engine);
  // The run whose engine is shown; during a rebuild the requested run is the newer one.
  const preference = useAppStore((state) => (state.configuredRun ?? state.requestedRun)?.engine);
  const connection = useAppStore((state) => state.connection);
  const pendingEngine = status === 'error' || connection === 'disconnected' ? 'none' : 'starting…';
  const label = engine ? engineLabel(engine, preference) : null;

  return (
    <section className="status panel" aria-label="Run status">
      <p className={`status-line status-${configuring ? 'configuring' : pausing ? 'pausing' : status}`} role="status">
        {statusText({ status, configuring, pausing }, latest, label)}
      </p>
      <dl className="stats">
        <div>
          <dt>Step</dt>
          <dd>{latest?.step ?? 0}</dd>
        </div>
        <div>
          <dt>Steps/s</dt>
          <dd>{latest ? formatRate(latest.stepsPerSecond) : '–'}</dd>
        </div>
        <div>
          <dt>Tokens/s</dt>
          <dd>{latest ? formatRate(latest.tokensPerSecond) : '–'}</dd>
        </div>
        <div>
          <dt>ms/step</dt>
          <dd>{latest ? formatRate(latest.msPerStep) : '–'}</dd>
        </div>
        <div>
          <dt>Parameters</dt>
          <dd>{engine ? formatCount(engine.parameterCount) : '–'}</dd>
        </div>
      </dl>
      <p className={`engine engine-${engine?.kind ?? 'pending'}`}>
        {/* With a fallback reason the sentence after the name says why, so the name stays short. */}
        <span className="engine-name">Engine: {engine?.fallbackReason ? engine.description : (label ?? pendingEngine)}</span>
        {engine?.fallbackReason && <span className="engine-reason"> WebGPU is not used: {engine.fallbackReason}.</span>}
        {engine?.kind === 'cpu' && !engine.fallbackReason && preference === 'cpu' && (
          <span className="engine-note"> The CPU engine was chosen under Advanced; choose Auto or WebGPU there to train on the GPU.</span>
        )}
      </p>
    </section>
  );
}
