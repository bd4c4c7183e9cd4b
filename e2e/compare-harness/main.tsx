/**
 * Test page of the Compare view, served by Vite's dev server from e2e/compare.spec.ts:
 * trains four small runs with the CPU engine in the page, then renders CompareView
 * with them. Sets data-ready on <body> once the view is drawn, or data-error when a
 * run failed to train.
 */
import { createRoot } from 'react-dom/client';
import { findPreset } from '../../src/presets';
import type { RunConfig } from '../../src/protocol';
import { choiceSpec, withArchitecture } from '../../src/store/choices';
import { fieldSpec } from '../../src/store/fields';
import { copyRun } from '../../src/store/url';
import { trainSampleRun, type SampleRunRequest } from '../../src/studio/sampleRuns';
import { CompareView } from '../../src/ui/compare/CompareView';
import '../../src/ui/styles.css';

const STEPS = 40;

function tiny(): RunConfig {
  return { ...copyRun(findPreset('e2e-tiny')!.run), engine: 'cpu', max_steps: STEPS };
}

const requests: SampleRunRequest[] = [
  { name: 'S6', config: tiny(), paperAccuracy: 0.997, paperRow: 'Mamba, S6 layer' },
  { name: 'S4', config: choiceSpec('selective_delta').write(tiny(), false) },
  { name: 'small state', config: fieldSpec('d_state').write(tiny(), 1) },
  { name: 'attention', config: withArchitecture(tiny(), 'transformer') },
];

async function main(): Promise<void> {
  const runs = [];
  for (const [i, request] of requests.entries()) runs.push(await trainSampleRun(request, `run-${i + 1}`));
  const root = createRoot(document.getElementById('root')!);
  root.render(<CompareView runs={runs} linkBase="http://127.0.0.1:4173/" />);
  // Expose the runs so that the test can check exported files against them.
  (window as unknown as { compareRuns: unknown }).compareRuns = runs;
  requestAnimationFrame(() => {
    document.body.dataset.ready = 'true';
  });
}

main().catch((error: unknown) => {
  document.body.dataset.error = error instanceof Error ? error.message : String(error);
});
