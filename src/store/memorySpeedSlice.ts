/**
 * The memory and speed slice: the sweep settings of the "Memory and speed" view
 * as typed, the request they give when valid, the points as they arrive from the
 * worker, and the sweep's state. Running it pauses training.
 */
import * as Comlink from 'comlink';
import type { StateCreator } from 'zustand';
import type { MemorySpeedPoint, MemorySpeedRequest, MemorySpeedResult } from '../bench/memorySpeedTypes';
import { checkField, MODEL_RULES, type FieldRule } from '../model/config';
import { getTrainer } from '../trainerClient';
import { parseLengths, type BenchStatus } from './benchSlice';
import { errorMessage } from './runSlice';
import type { AppMiddleware, AppState } from './types';

export type MemorySpeedField = keyof MemorySpeedRequest;

export interface MemorySpeedSlice {
  /** The text of each sweep field as typed, kept while it is invalid. */
  memoryTexts: Record<MemorySpeedField, string>;
  /** The request of the last valid texts, which a run measures. */
  memoryRequest: MemorySpeedRequest;
  /** The request of the current or last sweep; null before the first. */
  memoryRunRequest: MemorySpeedRequest | null;
  /** Validation message per sweep field; empty when the sweep can run. */
  memoryFieldErrors: Partial<Record<MemorySpeedField, string>>;
  memoryStatus: BenchStatus;
  /** Points of the current or last sweep, in the order they were measured. */
  memoryPoints: MemorySpeedPoint[];
  /** The finished sweep, with the device, the timing method, the slopes and the crossover; null while running. */
  memoryResult: MemorySpeedResult | null;
  memoryError: string | null;
  setMemoryField(field: MemorySpeedField, text: string): void;
  runMemorySpeed(): Promise<void>;
  resetMemorySpeed(): void;
}

/** Maximum number of lengths in one sweep, because each length runs every block several times. */
export const MAX_SWEEP_LENGTHS = 24;

export const MEMORY_SPEED_RULES: Record<Exclude<MemorySpeedField, 'lengths'>, FieldRule> = {
  d_model: { min: 1, max: 1024, integer: true, example: 256, label: 'd_model' },
  n_head: { min: 1, max: 1024, integer: true, example: 4, label: 'attention heads' },
  // Both blocks' kernels share the model's d_state limit.
  d_state: MODEL_RULES.d_state,
  repeats: { min: 1, max: 100, integer: true, example: 3, label: 'repeats' },
};

/**
 * The default sweep: powers of two from 256 to 65536 at d_model 256.
 * NOTE: it has not been timed on a hardware GPU, so "seconds" is an estimate. The
 * sweep's time and memory limits may skip the attention blocks at the longest lengths.
 */
export const DEFAULT_MEMORY_SPEED_REQUEST: MemorySpeedRequest = {
  lengths: [256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536],
  d_model: 256,
  n_head: 4,
  d_state: 16,
  repeats: 3,
};

export function requestTexts(request: MemorySpeedRequest): Record<MemorySpeedField, string> {
  return {
    lengths: request.lengths.join(','),
    d_model: String(request.d_model),
    n_head: String(request.n_head),
    d_state: String(request.d_state),
    repeats: String(request.repeats),
  };
}

/** Returns the largest divisor of n that is at most `limit`, for the fix in an n_head message. */
function largestDivisor(n: number, limit: number): number {
  for (let k = Math.min(n, limit); k > 1; k--) if (n % k === 0) return k;
  return 1;
}

function parseInteger(field: string, text: string, rule: FieldRule): number | string {
  const trimmed = text.trim();
  if (trimmed === '') return `${field} is missing: enter an integer from ${rule.min} to ${rule.max}, such as ${rule.example}`;
  const value = /^\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
  return checkField(field, value, rule) ?? (value as number);
}

/** Parses the lengths list: each a valid length, at most MAX_SWEEP_LENGTHS of them, ascending without repeats. */
export function parseSweepLengths(text: string): number[] | string {
  const lengths = parseLengths(text);
  if (typeof lengths === 'string') return lengths;
  if (lengths.length > MAX_SWEEP_LENGTHS) {
    return `lengths has ${lengths.length} entries, more than ${MAX_SWEEP_LENGTHS}: remove some, such as every other one`;
  }
  for (let i = 1; i < lengths.length; i++) {
    if (lengths[i] <= lengths[i - 1]) {
      return `length = ${lengths[i]} after ${lengths[i - 1]} is invalid: list the lengths from shortest to longest without repeats, such as 256,1024,4096`;
    }
  }
  return lengths;
}

/**
 * Validates every sweep field's text. Returns the request when all are valid, and
 * otherwise a message per invalid field. n_head must divide d_model, because the
 * attention block splits d_model into n_head heads of equal size.
 */
export function parseMemorySpeedTexts(
  texts: Record<MemorySpeedField, string>,
): { request: MemorySpeedRequest; errors: null } | { request: null; errors: Partial<Record<MemorySpeedField, string>> } {
  const errors: Partial<Record<MemorySpeedField, string>> = {};
  const lengths = parseSweepLengths(texts.lengths);
  if (typeof lengths === 'string') errors.lengths = lengths;

  const values: Partial<Record<Exclude<MemorySpeedField, 'lengths'>, number>> = {};
  for (const field of ['d_model', 'n_head', 'd_state', 'repeats'] as const) {
    const parsed = parseInteger(field, texts[field], MEMORY_SPEED_RULES[field]);
    if (typeof parsed === 'string') errors[field] = parsed;
    else values[field] = parsed;
  }

  const { d_model, n_head } = values;
  if (d_model !== undefined && n_head !== undefined && d_model % n_head !== 0) {
    errors.n_head = `n_head = ${n_head} does not divide d_model = ${d_model}: use a divisor of ${d_model}, such as ${largestDivisor(d_model, n_head)}`;
  }

  if (Object.keys(errors).length > 0 || typeof lengths === 'string') return { request: null, errors };
  return {
    request: { lengths, d_model: d_model!, n_head: n_head!, d_state: values.d_state!, repeats: values.repeats! },
    errors: null,
  };
}

const initialMemorySpeed = {
  memoryTexts: requestTexts(DEFAULT_MEMORY_SPEED_REQUEST),
  memoryRequest: DEFAULT_MEMORY_SPEED_REQUEST,
  memoryRunRequest: null,
  memoryFieldErrors: {},
  memoryStatus: 'idle' as BenchStatus,
  memoryPoints: [],
  memoryResult: null,
  memoryError: null,
};

export const createMemorySpeedSlice: StateCreator<AppState, AppMiddleware, [], MemorySpeedSlice> = (set, get) => ({
  ...initialMemorySpeed,

  // Every field is checked again, because d_model and n_head depend on each other.
  setMemoryField(field, text) {
    const memoryTexts = { ...get().memoryTexts, [field]: text };
    const parsed = parseMemorySpeedTexts(memoryTexts);
    if (parsed.request) set({ memoryTexts, memoryRequest: parsed.request, memoryFieldErrors: {} });
    else set({ memoryTexts, memoryFieldErrors: parsed.errors });
  },

  async runMemorySpeed() {
    if (get().memoryStatus === 'running' || Object.keys(get().memoryFieldErrors).length > 0) return;
    const request = get().memoryRequest;
    set({ memoryStatus: 'running', memoryRunRequest: request, memoryPoints: [], memoryResult: null, memoryError: null });
    try {
      const onPoint = (point: MemorySpeedPoint) => set({ memoryPoints: [...get().memoryPoints, point] });
      const result = await getTrainer().benchMemorySpeed(request, Comlink.proxy(onPoint));
      set({ memoryStatus: 'done', memoryPoints: result.points, memoryResult: result });
    } catch (error) {
      set({ memoryStatus: 'error', memoryError: `The memory and speed sweep failed: ${errorMessage(error)}` });
    }
  },

  resetMemorySpeed: () => set(initialMemorySpeed),
});
