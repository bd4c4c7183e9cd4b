import { useMemo, type ReactNode } from 'react';
import { useAppStore } from '../store';
import type { AppView } from '../store/viewSlice';
import { AttentionPanel } from './AttentionPanel';
import { BenchmarkPanel } from './BenchmarkPanel';
import { CompareView } from './compare/CompareView';
import type { ExtrapolationControls } from './compare/ExtrapolationPanel';
import { BlockDiagram } from './BlockDiagram';
import { ControlsPanel } from './ControlsPanel';
import { DeltaPanel } from './DeltaPanel';
import { ErrorBanner } from './ErrorBanner';
import { MemorySpeedPanel } from './MemorySpeedPanel';
import { MetricsPanel } from './MetricsPanel';
import { StatePanel } from './StatePanel';
import { StatusPanel } from './StatusPanel';
import { RunQueuePanel } from './studio/RunQueuePanel';

const VIEW_TABS: { view: AppView; label: string }[] = [
  { view: 'train', label: 'Train' },
  { view: 'compare', label: 'Compare' },
  { view: 'memory', label: 'Memory and speed' },
  { view: 'scan', label: 'Scan benchmark' },
];

/** Renders the probe panels of the configured architecture: Δ and the state for Mamba, attention weights for a Transformer. */
function ProbePanels() {
  const architecture = useAppStore((state) => state.probe?.architecture ?? state.configuredRun?.model.architecture ?? 'mamba');
  if (architecture === 'transformer') return <AttentionPanel />;
  return (
    <>
      <DeltaPanel />
      <StatePanel />
    </>
  );
}

/** Renders the Compare view of the studio's runs, with the problems of the opening comparison link and the extrapolation actions. */
function StudioCompareView() {
  const runs = useAppStore((state) => state.studioRuns);
  const messages = useAppStore((state) => state.compareLinkMessages);
  const job = useAppStore((state) => state.extrapolationJob);
  const notes = useAppStore((state) => state.extrapolationNotes);
  const evaluate = useAppStore((state) => state.evaluateExtrapolation);
  const cancel = useAppStore((state) => state.cancelExtrapolation);
  const controls = useMemo<ExtrapolationControls>(
    () => ({ job, notes, onEvaluate: (ids) => void evaluate(ids), onCancel: cancel }),
    [job, notes, evaluate, cancel],
  );
  return <CompareView runs={runs} messages={messages} extrapolation={controls} />;
}

function ViewTabs() {
  const view = useAppStore((state) => state.view);
  const setView = useAppStore((state) => state.setView);
  return (
    <nav className="view-tabs" role="tablist" aria-label="Views">
      {VIEW_TABS.map((tab) => (
        <button
          key={tab.view}
          type="button"
          role="tab"
          id={`tab-${tab.view}`}
          aria-selected={view === tab.view}
          aria-controls={`view-${tab.view}`}
          className={view === tab.view ? 'view-tab selected' : 'view-tab'}
          onClick={() => setView(tab.view)}
        >
          {tab.label}
        </button>
      ))}
    </nav>
  );
}

function ViewBody({ view, children }: { view: AppView; children: ReactNode }) {
  return (
    <div id={`view-${view}`} role="tabpanel" aria-labelledby={`tab-${view}`} className="view-body">
      {children}
    </div>
  );
}

export function App() {
  const view = useAppStore((state) => state.view);
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
          <ViewTabs />
          {view === 'train' && (
            <ViewBody view="train">
              <BlockDiagram />
              <MetricsPanel />
              <ProbePanels />
            </ViewBody>
          )}
          {view === 'scan' && (
            <ViewBody view="scan">
              <BenchmarkPanel />
            </ViewBody>
          )}
          {view === 'compare' && (
            <ViewBody view="compare">
              <RunQueuePanel />
              <StudioCompareView />
            </ViewBody>
          )}
          {view === 'memory' && (
            <ViewBody view="memory">
              <MemorySpeedPanel />
            </ViewBody>
          )}
        </main>
      </div>
    </div>
  );
}
