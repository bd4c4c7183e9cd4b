/** View state: choices that change what is shown, never what is trained. */
import type { StateCreator } from 'zustand';
import type { AppState, AppMiddleware } from './types';

export type AxisScale = 'linear' | 'log';

export interface ViewSlice {
  lossScale: AxisScale;
  /** Zero-based layer and channel shown in the state view. */
  stateLayer: number;
  stateChannel: number;
  setLossScale(scale: AxisScale): void;
  selectState(layer: number, channel: number): void;
  resetView(): void;
}

const initialView = { lossScale: 'log' as AxisScale, stateLayer: 0, stateChannel: 0 };

export const createViewSlice: StateCreator<AppState, AppMiddleware, [], ViewSlice> = (set) => ({
  ...initialView,
  setLossScale: (lossScale) => set({ lossScale }),
  selectState: (stateLayer, stateChannel) => set({ stateLayer, stateChannel }),
  resetView: () => set(initialView),
});
