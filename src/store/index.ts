/**
 * The app's one zustand store, combined from its slices once, with middleware only
 * here. Components select narrowly from it.
 */
import { create } from 'zustand';
import { subscribeWithSelector } from 'zustand/middleware';
import { createBenchSlice } from './benchSlice';
import { createConfigSlice } from './configSlice';
import { createExtrapolationSlice } from './extrapolationSlice';
import { createMemorySpeedSlice } from './memorySpeedSlice';
import { createRunSlice } from './runSlice';
import { createStudioSlice } from './studioSlice';
import type { AppState } from './types';
import { createViewSlice } from './viewSlice';

export type { AppState } from './types';

export const useAppStore = create<AppState>()(
  subscribeWithSelector((...args) => ({
    ...createConfigSlice(...args),
    ...createRunSlice(...args),
    ...createViewSlice(...args),
    ...createBenchSlice(...args),
    ...createMemorySpeedSlice(...args),
    ...createStudioSlice(...args),
    ...createExtrapolationSlice(...args),
  })),
);

/** Puts every slice back to its initial state; for tests. */
export function resetStore(): void {
  const state = useAppStore.getState();
  state.resetConfig();
  state.resetRunSlice();
  state.resetView();
  state.resetBench();
  state.resetMemorySpeed();
  state.resetStudio();
  state.resetExtrapolation();
}
