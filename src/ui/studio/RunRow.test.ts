import { describe, expect, it } from 'vitest';
import { findPreset } from '../../presets';
import { newStudioRun } from '../../studio/runs';
import type { StudioRun } from '../../studio/types';
import { runStatusText } from './RunRow';

function pausedRun(overrides: Partial<StudioRun> = {}): StudioRun {
  const config = { ...structuredClone(findPreset('e2e-tiny')!.run), engine: 'cpu' as const, max_steps: 100 };
  return {
    ...newStudioRun(config, 'a', 'id-a', 1),
    status: 'paused',
    step: 40,
    metrics: [{ step: 40, loss: 0.5, accuracy: 0.75, elapsedMs: 10, tokensPerSecond: 1000 }],
    ...overrides,
  };
}

describe('runStatusText', () => {
  it('names resume step when paused', () => {
    expect(runStatusText(pausedRun(), false)).toBe('Paused · trains again from step 0 · loss 0.500 · accuracy 75.0%');
    expect(runStatusText(pausedRun({ checkpointStep: 40 }), false)).toBe('Paused · resumes from step 40 · loss 0.500 · accuracy 75.0%');
    expect(runStatusText(pausedRun({ checkpointStep: 30 }), false)).toBe(
      'Paused · resumes from step 30, its last saved progress · loss 0.500 · accuracy 75.0%',
    );
  });

  it('marks held run', () => {
    expect(runStatusText(pausedRun({ onHold: true, checkpointStep: 40 }), false)).toBe(
      'Paused · held until you resume it · resumes from step 40 · loss 0.500 · accuracy 75.0%',
    );
  });

  it('adds nothing for live run', () => {
    expect(runStatusText(pausedRun({ checkpointStep: 30 }), true)).toBe('Paused · loss 0.500 · accuracy 75.0%');
  });
});
