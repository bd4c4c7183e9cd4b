import { BenchmarkPanel } from './BenchmarkPanel';
import { ControlsPanel } from './ControlsPanel';
import { DeltaPanel } from './DeltaPanel';
import { ErrorBanner } from './ErrorBanner';
import { MetricsPanel } from './MetricsPanel';
import { StatePanel } from './StatePanel';
import { StatusPanel } from './StatusPanel';

export function App() {
  return (
    <div className="app">
      <header className="app-header">
        <h1>Mamba Playground</h1>
        <p className="tagline">
          Train a small Mamba model in your browser and watch its selective state space decide, token by token, what to
          remember.
        </p>
      </header>
      <div className="layout">
        <ControlsPanel />
        <main className="charts">
          <ErrorBanner />
          <StatusPanel />
          <MetricsPanel />
          <DeltaPanel />
          <StatePanel />
          <BenchmarkPanel />
        </main>
      </div>
    </div>
  );
}
