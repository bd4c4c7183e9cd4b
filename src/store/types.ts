import type { BenchSlice } from './benchSlice';
import type { ConfigSlice } from './configSlice';
import type { ExtrapolationSlice } from './extrapolationSlice';
import type { MemorySpeedSlice } from './memorySpeedSlice';
import type { RunSlice } from './runSlice';
import type { StudioSlice } from './studioSlice';
import type { ViewSlice } from './viewSlice';

/** The combined store: one slice per concern. */
export type AppState = ConfigSlice & RunSlice & ViewSlice & BenchSlice & MemorySpeedSlice & StudioSlice & ExtrapolationSlice;

/** Middleware applied once, on the combined store. */
export type AppMiddleware = [['zustand/subscribeWithSelector', never]];
