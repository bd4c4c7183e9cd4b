/**
 * Types shared by the trainer (workers/trainer.ts), its Web Worker wrapper, the
 * stores and the command line.
 */
import type { Architecture, ModelConfig, TrainConfig } from './model/config';
import type { EngineKind, TrainingState } from './engine/types';
import type { TaskConfig, TokenRole } from './tasks';
import type { ScanBenchPoint, ScanBenchResult } from './bench/scanBench';
import type { MemorySpeedPoint, MemorySpeedRequest, MemorySpeedResult } from './bench/memorySpeedTypes';

export type EnginePreference = 'auto' | 'webgpu' | 'cpu';

/**
 * A run's progress, enough to build its engine again later and go on exactly where it
 * stopped: the same next batch, the same optimizer update.
 */
export interface TrainingCheckpoint extends TrainingState {
  /** Optimizer steps done. */
  step: number;
  /** Training time so far, in milliseconds. */
  elapsedMs: number;
  /** State of the data stream's generator (Rng.savedState). */
  dataRngState: number;
}


/** Everything needed to start a run; mirrored in the URL by the UI. */
export interface RunConfig {
  /** Name of the preset the run started from. */
  preset: string;
  task: TaskConfig;
  /** A Mamba LM or the Transformer baseline; model.vocab_size must equal the task's vocabulary size. */
  model: ModelConfig;
  train: TrainConfig;
  engine: EnginePreference;
  /** Training stops by itself after this many steps; 0 means no limit. */
  max_steps: number;
}

export interface EngineInfo {
  kind: EngineKind;
  /** "WebGPU (adapter description)" or "CPU". */
  description: string;
  /** Reason WebGPU is not in use, when kind is 'cpu'; null otherwise. */
  fallbackReason: string | null;
  /** Number of trainable parameters, without padding. */
  parameterCount: number;
}

export type RunStatus = 'idle' | 'running' | 'paused' | 'done' | 'error';

export interface MetricsEvent {
  type: 'metrics';
  step: number;
  loss: number;
  accuracy: number;
  /** Wall time per step over the last interval, in milliseconds. */
  msPerStep: number;
  stepsPerSecond: number;
  tokensPerSecond: number;
  /** Training wall time since the run started, excluding pauses, in milliseconds. */
  elapsedMs: number;
}

export interface ProbeEvent {
  type: 'probe';
  step: number;
  architecture: Architecture;
  tokens: number[];
  roles: TokenRole[];
  /** delta[layer] is (l, d_inner), row-major; empty for a Transformer. */
  delta: Float32Array[];
  /** states[layer] is (l, d_inner, d_state), row-major; empty for a Transformer. */
  states: Float32Array[];
  /** attention[layer] is (n_head, l, l), row-major; empty for Mamba. */
  attention: Float32Array[];
  predictions: number[];
  /** 0 for a Transformer. */
  d_inner: number;
  /** 0 for a Transformer. */
  d_state: number;
  /** 0 for Mamba. */
  n_head: number;
}

export interface StatusEvent {
  type: 'status';
  status: RunStatus;
  /** Error text when status is 'error', otherwise an optional note. */
  message: string | null;
}

export interface EngineEvent {
  type: 'engine';
  info: EngineInfo;
}

/** Wall times of the timed steps of Trainer.benchmark. */
export interface StepTimings {
  /** Milliseconds of each timed step, from engine.step until the engine has finished the step's work. */
  stepMs: number[];
  /** Tokens per step, batch_size · seq_len. */
  tokensPerStep: number;
}

export type TrainerEvent = MetricsEvent | ProbeEvent | StatusEvent | EngineEvent;

/** The trainer's API, called directly under Node and through comlink in the browser. */
export interface TrainerApi {
  /** Registers a listener for every event; under comlink pass it wrapped in Comlink.proxy. */
  subscribe(listener: (event: TrainerEvent) => void): Promise<void>;
  /** Builds the engine and initial weights for a run; replaces (and frees) any previous run. */
  configure(run: RunConfig): Promise<EngineInfo>;
  /** Starts or resumes training; resolves once the loop has started. */
  start(): Promise<void>;
  /** Stops after the step in flight; resolves once the loop has stopped. */
  pause(): Promise<void>;
  /** Re-initialises the weights from the seed and sets the step to 0. */
  reset(): Promise<void>;
  /** Runs the probe sequence through the model now and emits a probe event. */
  probe(): Promise<ProbeEvent>;
  /**
   * Pauses training and times the selective scan kernels on a device of their own
   * (see src/bench/scanBench.ts); onPoint receives each length as it is measured.
   * Rejects when WebGPU is unavailable.
   */
  benchScan(options: ScanBenchRequest, onPoint?: (point: ScanBenchPoint) => void): Promise<ScanBenchResult>;
  /**
   * Pauses training and measures how time and memory grow with sequence length for
   * a Mamba block and an attention block, on a device of its own (see
   * src/bench/memorySpeed.ts). onPoint receives each length as it is measured.
   * Rejects when WebGPU is unavailable or the request is invalid.
   */
  benchMemorySpeed(request: MemorySpeedRequest, onPoint?: (point: MemorySpeedPoint) => void): Promise<MemorySpeedResult>;
  dispose(): Promise<void>;
}

/** Sweep of the in-app scan benchmark. */
export interface ScanBenchRequest {
  lengths: number[];
  dInner: number;
  dState: number;
  repeats: number;
}
