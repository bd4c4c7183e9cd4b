/**
 * Results of the memory and speed sweep: a Mamba block against an attention
 * block of the same width, per sequence length, on one device. Produced by
 * runMemorySpeedBench (src/bench/memorySpeed.ts), printed by
 * `npm run bench -- attention` and drawn by the app's "Memory and speed" view.
 * Keys use snake_case because they are also the CLI's JSON output.
 */

/** One measured quantity of one block; the keys of MemorySpeedPoint that can be null. */
export type MemorySpeedSeries =
  | 'mamba_fwd_ms'
  | 'mamba_fwd_bwd_ms'
  | 'attention_fwd_ms'
  | 'attention_fwd_bwd_ms'
  | 'attention_naive_fwd_ms'
  | 'attention_naive_fwd_bwd_ms'
  | 'mamba_bytes'
  | 'attention_bytes'
  | 'attention_naive_bytes'
  | 'mamba_decode_ms_per_token'
  | 'attention_decode_ms_per_token'
  | 'mamba_decode_state_bytes'
  | 'attention_decode_cache_bytes';

export type MemorySpeedPoint = { length: number } & Record<MemorySpeedSeries, number | null> & {
  /** Reason a series is null at this length, such as "exceeds device memory (needs 4.3 GB)"; absent for measured series. */
  skipped: Partial<Record<MemorySpeedSeries, string>>;
};

export interface MemorySpeedRequest {
  /** Sequence lengths, ascending, such as 256, 512, …, 65536. */
  lengths: number[];
  d_model: number;
  /** Attention heads of the attention block; head size is d_model / n_head. */
  n_head: number;
  /** State size of the Mamba block; expand is 2 and d_conv 4. */
  d_state: number;
  /** Timed repetitions per measurement. */
  repeats: number;
}

export interface MemorySpeedResult {
  bench: 'attention';
  /** Adapter description, such as "NVIDIA H200 (vulkan)". */
  device: string;
  d_model: number;
  n_head: number;
  d_state: number;
  /** 'timestamp-query' for GPU pass times, 'wall-clock' for submission-to-done wall time. */
  timing: 'timestamp-query' | 'wall-clock';
  points: MemorySpeedPoint[];
  /** Least-squares slope of log(value) against log(length) per series over its measured points; null with fewer than two. */
  slopes: Partial<Record<MemorySpeedSeries, number | null>>;
  /** Shortest measured length from which the Mamba block's forward + backward is faster than the tiled attention block's at every longer measured length; null when it never is. */
  crossover_length: number | null;
}
