/**
 * The benchmark slice: the scan benchmark's sweep settings, its points as they
 * arrive from the worker, and its state. Running it pauses training.
 */
import * as Comlink from 'comlink';
import type { StateCreator } from 'zustand';
import type { ScanBenchPoint, ScanTiming } from '../bench/scanBench';
import { checkField, type FieldRule } from '../model/config';
import type { ScanBenchRequest } from '../protocol';
import { getTrainer } from '../trainerClient';
import { errorMessage } from './runSlice';
import type { AppMiddleware, AppState } from './types';

export type BenchStatus = 'idle' | 'running' | 'done' | 'error';

export interface BenchSlice {
  benchRequest: ScanBenchRequest;
  benchStatus: BenchStatus;
  benchPoints: ScanBenchPoint[];
  benchDevice: string | null;
  benchTiming: ScanTiming | null;
  benchError: string | null;
  /** Validation message per sweep field; empty when the sweep can run. */
  benchFieldErrors: Partial<Record<keyof ScanBenchRequest, string>>;
  setBenchField(field: keyof ScanBenchRequest, text: string): void;
  runBench(): Promise<void>;
  resetBench(): void;
}

export const BENCH_RULES: Record<keyof ScanBenchRequest, FieldRule> = {
  lengths: { min: 1, max: 1 << 20, integer: true, example: 4096, label: 'sequence length' },
  dInner: { min: 1, max: 16_384, integer: true, example: 1024, label: 'd_inner' },
  dState: { min: 1, max: 64, integer: true, example: 16, label: 'd_state' },
  repeats: { min: 1, max: 100, integer: true, example: 5, label: 'repeats' },
};

/** The sweep a visitor's GPU finishes in seconds; lengths up to 2^16 as on the command line are one edit away. */
export const DEFAULT_BENCH_REQUEST: ScanBenchRequest = {
  lengths: [512, 1024, 2048, 4096, 8192, 16384],
  dInner: 1024,
  dState: 16,
  repeats: 5,
};

const FIELD_NAMES: Record<keyof ScanBenchRequest, string> = { lengths: 'lengths', dInner: 'd_inner', dState: 'd_state', repeats: 'repeats' };

/** Parses "512, 1024" into lengths; returns an error message for the first bad entry. */
export function parseLengths(text: string): number[] | string {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) return 'lengths is empty: list one or more sequence lengths such as 512,4096';
  const lengths: number[] = [];
  for (const part of parts) {
    const value = /^\d+$/.test(part) ? Number(part) : NaN;
    const message = checkField('length', Number.isNaN(value) ? part : value, BENCH_RULES.lengths);
    if (message) return message;
    lengths.push(value);
  }
  return lengths;
}

const initialBench = {
  benchRequest: DEFAULT_BENCH_REQUEST,
  benchStatus: 'idle' as BenchStatus,
  benchPoints: [],
  benchDevice: null,
  benchTiming: null,
  benchError: null,
  benchFieldErrors: {},
};

export const createBenchSlice: StateCreator<AppState, AppMiddleware, [], BenchSlice> = (set, get) => ({
  ...initialBench,

  setBenchField(field, text) {
    const errors = { ...get().benchFieldErrors };
    delete errors[field];
    if (field === 'lengths') {
      const parsed = parseLengths(text);
      if (typeof parsed === 'string') errors.lengths = parsed;
      else set({ benchRequest: { ...get().benchRequest, lengths: parsed } });
    } else {
      const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : text;
      const message = checkField(FIELD_NAMES[field], value, BENCH_RULES[field]);
      if (message) errors[field] = message;
      else set({ benchRequest: { ...get().benchRequest, [field]: value as number } });
    }
    set({ benchFieldErrors: errors });
  },

  async runBench() {
    if (get().benchStatus === 'running' || Object.keys(get().benchFieldErrors).length > 0) return;
    set({ benchStatus: 'running', benchPoints: [], benchError: null, benchDevice: null, benchTiming: null });
    try {
      const onPoint = (point: ScanBenchPoint) => set({ benchPoints: [...get().benchPoints, point] });
      const result = await getTrainer().benchScan(get().benchRequest, Comlink.proxy(onPoint));
      set({ benchStatus: 'done', benchPoints: result.points, benchDevice: result.device, benchTiming: result.timing });
    } catch (error) {
      set({ benchStatus: 'error', benchError: `The scan benchmark failed: ${errorMessage(error)}` });
    }
  },

  resetBench: () => set(initialBench),
});
