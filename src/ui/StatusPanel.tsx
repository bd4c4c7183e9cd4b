import { useAppStore } from '../store';
import { formatCount, formatRate, statusText } from './format';

/** Renders the live status line, throughput, and the engine in use with the reason when it is not WebGPU. */
export function StatusPanel() {
  const status = useAppStore((state) => state.status);
  const configuring = useAppStore((state) => state.configuring);
  const latest = useAppStore((state) => state.latestMetrics);
  const engine = useAppStore((state) => state.engine);
  const connection = useAppStore((state) => state.connection);
  const pendingEngine = status === 'error' || connection === 'disconnected' ? 'none' : 'starting…';

  return (
    <section className="status panel" aria-label="Run status">
      <p className={`status-line status-${configuring ? 'configuring' : status}`} role="status">
        {statusText(status, configuring, latest, engine)}
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
        <span className="engine-name">Engine: {engine ? engine.description : pendingEngine}</span>
        {engine?.fallbackReason && <span className="engine-reason"> WebGPU is not used: {engine.fallbackReason}.</span>}
      </p>
    </section>
  );
}
