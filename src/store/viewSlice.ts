/** View state: choices that change what is shown, never what is trained. */
import type { StateCreator } from 'zustand';
import type { AppState, AppMiddleware } from './types';

export type AxisScale = 'linear' | 'log';

/** The page's views, each a tab; the URL's hash names the open one, such as #scan. */
export type AppView = 'train' | 'scan' | 'compare';
export const APP_VIEWS: readonly AppView[] = ['train', 'scan', 'compare'];

export function isAppView(value: string): value is AppView {
  return (APP_VIEWS as readonly string[]).includes(value);
}

export interface ViewSlice {
  view: AppView;
  setView(view: AppView): void;
  lossScale: AxisScale;
  /** Zero-based layer and channel shown in the state view. */
  stateLayer: number;
  stateChannel: number;
  setLossScale(scale: AxisScale): void;
  selectState(layer: number, channel: number): void;
  resetView(): void;
}

const initialView = { view: 'train' as AppView, lossScale: 'log' as AxisScale, stateLayer: 0, stateChannel: 0 };

export const createViewSlice: StateCreator<AppState, AppMiddleware, [], ViewSlice> = (set) => ({
  ...initialView,
  setView: (view) => set({ view }),
  setLossScale: (lossScale) => set({ lossScale }),
  selectState: (stateLayer, stateChannel) => set({ stateLayer, stateChannel }),
  resetView: () => set(initialView),
});
