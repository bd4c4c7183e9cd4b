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

/** Per-layer parameter names, in layout order. */
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
    D: `${p}D`,
    out_proj: `${p}out_proj.weight`,
    norm: `layers.${i}.norm.weight`,
  };
}

export function buildLayout(cfg: ResolvedConfig): ParamLayout {
  const { d_model, d_inner, d_state, d_conv, dt_rank, vocab_size } = cfg;
  const specs: [string, number[], boolean][] = [['embedding.weight', [vocab_size, d_model], true]];
  for (let i = 0; i < cfg.n_layer; i++) {
    const n = layerParamNames(i);
    specs.push(
      [n.norm, [d_model], false],
      [n.in_proj, [2 * d_inner, d_model], true],
      [n.conv_w, [d_inner, 1, d_conv], true],
      [n.conv_b, [d_inner], false],
      [n.x_proj, [dt_rank + 2 * d_state, d_inner], true],
      [n.dt_w, [d_inner, dt_rank], true],
      [n.dt_b, [d_inner], false],
      [n.A_log, [d_inner, d_state], false],
      [n.D, [d_inner], false],
      [n.out_proj, [d_model, d_inner], true],
    );
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
 * A_log = log(1..d_state) per channel (S4D-Real); D = 1; norms 1.
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
    uniform(v(n.conv_w), 1 / Math.sqrt(cfg.d_conv));
    uniform(v(n.conv_b), 1 / Math.sqrt(cfg.d_conv));
    uniform(v(n.x_proj), 1 / Math.sqrt(cfg.d_inner));
    uniform(v(n.dt_w), cfg.dt_rank ** -0.5);

    const dtBias = v(n.dt_b);
    for (let d = 0; d < cfg.d_inner; d++) {
      const logDt = Math.log(opts.dt_min) + rng.uniform() * (Math.log(opts.dt_max) - Math.log(opts.dt_min));
      const dt = Math.max(Math.exp(logDt), opts.dt_init_floor);
      dtBias[d] = dt + Math.log(-Math.expm1(-dt)); // inverse of softplus
    }

    const aLog = v(n.A_log);
    for (let d = 0; d < cfg.d_inner; d++) {
      for (let s = 0; s < cfg.d_state; s++) aLog[d * cfg.d_state + s] = Math.log(s + 1);
    }
    v(n.D).fill(1);
    uniform(v(n.out_proj), 1 / Math.sqrt(cfg.d_inner) / Math.sqrt(cfg.n_layer));
  }
  v('norm_f.weight').fill(1);
  return flat;
}
