import type { ResolvedConfig } from './config';
import { Rng } from './random';

/**
 * Parameters live in one flat Float32Array, each tensor at an offset aligned to
 * 64 floats (256 bytes, WebGPU's minStorageBufferOffsetAlignment), so the GPU
 * engine can bind a tensor as a sub-range of one buffer and AdamW can run over
 * the whole buffer. Names and shapes follow the reference implementation.
 */
export const PARAM_ALIGN = 64;

export interface ParamEntry {
  name: string;
  shape: number[];
  offset: number;
  size: number;
  /** True for matrices that AdamW decays; norms, biases, A_log and D are not decayed. */
  decay: boolean;
}

export interface ParamLayout {
  entries: ParamEntry[];
  byName: Map<string, ParamEntry>;
  /** Total floats, including alignment padding. */
  totalSize: number;
  /** Floats that belong to a tensor, without padding. */
  count: number;
}

/** Per-layer parameter names, in layout order; a config's layout holds only the ones it uses. */
export function layerParamNames(i: number) {
  const p = `layers.${i}.mixer.`;
  return {
    in_proj: `${p}in_proj.weight`,
    conv_w: `${p}conv1d.weight`,
    conv_b: `${p}conv1d.bias`,
    x_proj: `${p}x_proj.weight`,
    dt_w: `${p}dt_proj.weight`,
    dt_b: `${p}dt_proj.bias`,
    A_log: `${p}A_log`,
    B: `${p}B`,
    C: `${p}C`,
    D: `${p}D`,
    out_proj: `${p}out_proj.weight`,
    norm: `layers.${i}.norm.weight`,
  };
}

/**
 * First rows of the branches in in_proj's output, and its row count:
 * - 'mamba':   [x | z], the x branch that enters the convolution and the gate z;
 * - 'no-gate': [x] only;
 * - 'h3':      [q | k | v], where k takes the x branch's path through the
 *   convolution (H3's shift SSM), q the gate's place and v is H3's third branch.
 * Each branch is d_inner rows; null marks a branch the block does not have.
 */
export function inProjRows(cfg: ResolvedConfig): { x: number; z: number | null; v: number | null; rows: number } {
  const di = cfg.d_inner;
  if (cfg.block === 'h3') return { z: 0, x: di, v: 2 * di, rows: 3 * di };
  if (cfg.block === 'no-gate') return { x: 0, z: null, v: null, rows: di };
  return { x: 0, z: di, v: null, rows: 2 * di };
}

/**
 * First columns of Δ's low-rank part, B and C in x_proj's output rows, and the
 * row width. Only the input-dependent (selective) parts have columns, in the
 * order [Δ low rank | B | C]; null marks a part that is a learned parameter
 * instead. A width of 0 means the layer has no x_proj.
 */
export function xProjColumns(cfg: ResolvedConfig): { delta: number | null; B: number | null; C: number | null; width: number } {
  let width = 0;
  const take = (selective: boolean, size: number) => {
    if (!selective) return null;
    const start = width;
    width += size;
    return start;
  };
  const delta = take(cfg.selective_delta, cfg.dt_rank);
  const B = take(cfg.selective_B, cfg.d_state);
  const C = take(cfg.selective_C, cfg.d_state);
  return { delta, B, C, width };
}

/**
 * Builds the flat layout of a Mamba config. Tensors that an ablation leaves
 * unused are absent: conv1d without use_conv, x_proj rows of the parts that
 * are not selective (and x_proj itself when none is), dt_proj.weight without
 * selective_delta. B and C (d_inner, d_state) appear when they are not selective.
 * The default config gives the layout of state-spaces/mamba's Mamba block.
 */
export function buildLayout(cfg: ResolvedConfig): ParamLayout {
  const { d_model, d_inner, d_state, d_conv, dt_rank, vocab_size } = cfg;
  const xProj = xProjColumns(cfg);
  const specs: [string, number[], boolean][] = [['embedding.weight', [vocab_size, d_model], true]];
  for (let i = 0; i < cfg.n_layer; i++) {
    const n = layerParamNames(i);
    specs.push([n.norm, [d_model], false], [n.in_proj, [inProjRows(cfg).rows, d_model], true]);
    if (cfg.use_conv) specs.push([n.conv_w, [d_inner, 1, d_conv], true], [n.conv_b, [d_inner], false]);
    if (xProj.width > 0) specs.push([n.x_proj, [xProj.width, d_inner], true]);
    if (cfg.selective_delta) specs.push([n.dt_w, [d_inner, dt_rank], true]);
    specs.push([n.dt_b, [d_inner], false], [n.A_log, [d_inner, d_state], false]);
    // Fixed B and C are SSM parameters like A_log and D, so AdamW does not decay them.
    if (!cfg.selective_B) specs.push([n.B, [d_inner, d_state], false]);
    if (!cfg.selective_C) specs.push([n.C, [d_inner, d_state], false]);
    specs.push([n.D, [d_inner], false], [n.out_proj, [d_model, d_inner], true]);
  }
  specs.push(['norm_f.weight', [d_model], false]);

  return layoutFromSpecs(specs);
}

/** Lays out [name, shape, decay] specs in order, each at an aligned offset. */
export function layoutFromSpecs(specs: [string, number[], boolean][]): ParamLayout {
  const entries: ParamEntry[] = [];
  let offset = 0;
  let count = 0;
  for (const [name, shape, decay] of specs) {
    const size = shape.reduce((a, b) => a * b, 1);
    entries.push({ name, shape, offset, size, decay });
    offset += Math.ceil(size / PARAM_ALIGN) * PARAM_ALIGN;
    count += size;
  }
  return { entries, byName: new Map(entries.map((e) => [e.name, e])), totalSize: offset, count };
}

/** Returns a view of one tensor inside the flat buffer. */
export function view<T extends Float32Array | Float64Array>(layout: ParamLayout, flat: T, name: string): T {
  const e = layout.byName.get(name);
  if (!e) throw new Error(`parameter ${name} not found in the layout`);
  return flat.subarray(e.offset, e.offset + e.size) as T;
}

export interface InitOptions {
  dt_min: number;
  dt_max: number;
  dt_init_floor: number;
}

const DEFAULT_INIT: InitOptions = { dt_min: 0.001, dt_max: 0.1, dt_init_floor: 1e-4 };

/**
 * Initialises parameters as mamba_ssm does: embedding N(0, 0.02); linear and
 * conv weights uniform in ±1/sqrt(fan_in) (PyTorch's default), with out_proj
 * further divided by sqrt(n_layer); dt_proj.weight uniform in ±dt_rank^-0.5;
 * dt_proj.bias the inverse softplus of Δ drawn log-uniformly in [dt_min, dt_max];
 * A_log from a_init ('s4d-real': log(1..d_state) per channel); D = 1; norms 1.
 *
 * Ablations:
 * - delta_softplus off: dt_proj.bias is the drawn Δ itself, and dt_proj.weight
 *   starts at zero, so Δ = dt_proj.bias lies in [dt_min, dt_max] for every input
 *   at initialisation. Training may still move Δ below zero.
 * - Fixed B and C: B = 1 and C ~ N(0, 1), as the S4D minimal layer of
 *   state-spaces/s4 (models/s4/s4d.py) has them, where B is folded into C.
 * - a_init 'constant': A = −½ (S4D's real part); 'random': A = −exp(N(0, 1)).
 * Draws come from one seeded generator in layout order, so the default config
 * draws exactly what it drew before the ablations existed.
 */
export function initParams(cfg: ResolvedConfig, layout: ParamLayout, seed: number, opts: InitOptions = DEFAULT_INIT): Float32Array {
  const rng = new Rng(seed);
  const flat = new Float32Array(layout.totalSize);
  const uniform = (t: Float32Array, bound: number) => {
    for (let i = 0; i < t.length; i++) t[i] = (2 * rng.uniform() - 1) * bound;
  };
  const v = (name: string) => view(layout, flat, name);

  const emb = v('embedding.weight');
  for (let i = 0; i < emb.length; i++) emb[i] = 0.02 * rng.normal();

  for (let layer = 0; layer < cfg.n_layer; layer++) {
    const n = layerParamNames(layer);
    v(n.norm).fill(1);
    uniform(v(n.in_proj), 1 / Math.sqrt(cfg.d_model));
    if (cfg.use_conv) {
      uniform(v(n.conv_w), 1 / Math.sqrt(cfg.d_conv));
      uniform(v(n.conv_b), 1 / Math.sqrt(cfg.d_conv));
    }
    if (xProjColumns(cfg).width > 0) uniform(v(n.x_proj), 1 / Math.sqrt(cfg.d_inner));
    if (cfg.selective_delta) {
      if (cfg.delta_softplus) uniform(v(n.dt_w), cfg.dt_rank ** -0.5);
      else v(n.dt_w).fill(0);
    }

    const dtBias = v(n.dt_b);
    for (let d = 0; d < cfg.d_inner; d++) {
      const logDt = Math.log(opts.dt_min) + rng.uniform() * (Math.log(opts.dt_max) - Math.log(opts.dt_min));
      const dt = Math.max(Math.exp(logDt), opts.dt_init_floor);
      dtBias[d] = cfg.delta_softplus ? dt + Math.log(-Math.expm1(-dt)) : dt; // inverse of softplus, or Δ itself
    }

    initALog(v(n.A_log), cfg, rng);
    if (!cfg.selective_B) v(n.B).fill(1);
    if (!cfg.selective_C) {
      const C = v(n.C);
      for (let i = 0; i < C.length; i++) C[i] = rng.normal();
    }
    v(n.D).fill(1);
    uniform(v(n.out_proj), 1 / Math.sqrt(cfg.d_inner) / Math.sqrt(cfg.n_layer));
  }
  v('norm_f.weight').fill(1);
  return flat;
}

/** Fills A_log (d_inner, d_state) so that A = −exp(A_log) follows cfg.a_init. */
function initALog(aLog: Float32Array, cfg: ResolvedConfig, rng: Rng): void {
  for (let d = 0; d < cfg.d_inner; d++) {
    for (let s = 0; s < cfg.d_state; s++) {
      const i = d * cfg.d_state + s;
      if (cfg.a_init === 's4d-real') aLog[i] = Math.log(s + 1);
      else if (cfg.a_init === 'constant') aLog[i] = Math.log(0.5);
      else aLog[i] = rng.normal();
    }
  }
}
