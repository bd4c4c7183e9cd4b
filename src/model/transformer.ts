/**
 * CPU reference of the Transformer baseline: token embedding, n_layer pre-norm
 * blocks x + Attn(RMSNorm(x)) and x + SwiGLU(RMSNorm(x)), a final RMSNorm and a
 * head tied to the embedding. Positions are rotary (default) or learned absolute
 * embeddings added to the tokens. Parameter names follow the Llama convention.
 */
import { ConfigError, checkField, MODEL_RULES, type FieldError, type FieldRule } from './config';
import {
  attentionBackward, attentionForward, positionEmbeddingBackward, positionEmbeddingForward, ropeForward,
  swigluBackward, swigluForward,
} from './attentionOps';
import {
  embeddingBackward, embeddingForward, matmulBackward, matmulForward,
  rmsnormBackward, rmsnormForward, type Vec,
} from './ops';
import { maskedLoss } from './loss';
import { layoutFromSpecs, type ParamLayout } from './params';
import { Rng } from './random';

export type PositionEncoding = 'rope' | 'absolute';

export interface TransformerConfig {
  architecture: 'transformer';
  vocab_size: number;
  d_model: number;
  n_layer: number;
  n_head: number;
  /** Hidden width of the SwiGLU MLP; 'auto' is 8/3·d_model rounded up to a multiple of 8. */
  d_ff: number | 'auto';
  positions: PositionEncoding;
  /** Longest sequence the absolute position table covers; unused with RoPE. */
  max_len: number;
}

export interface ResolvedTransformerConfig extends Omit<TransformerConfig, 'd_ff'> {
  d_ff: number;
  head_dim: number;
}

export const N_HEAD_RULE: FieldRule = { min: 1, max: 64, integer: true, example: 4, label: 'attention heads' };
export const MAX_LEN_RULE: FieldRule = { min: 1, max: 1 << 20, integer: true, example: 256, label: 'maximum length' };

/** Validates a Transformer config and fills in d_ff and head_dim; throws ConfigError listing every bad field. */
export function resolveTransformerConfig(cfg: TransformerConfig): ResolvedTransformerConfig {
  const errors: FieldError[] = [];
  for (const field of ['vocab_size', 'd_model', 'n_layer'] as const) {
    const message = checkField(field, cfg[field], MODEL_RULES[field]);
    if (message) errors.push({ field, message });
  }
  const headMessage = checkField('n_head', cfg.n_head, N_HEAD_RULE);
  if (headMessage) errors.push({ field: 'n_head', message: headMessage });
  else if (cfg.d_model % cfg.n_head !== 0) {
    errors.push({ field: 'n_head', message: `n_head = ${cfg.n_head} does not divide d_model = ${cfg.d_model}: choose a divisor of d_model` });
  }
  if (cfg.d_ff !== 'auto') {
    const message = checkField('d_ff', cfg.d_ff, { min: 1, max: 8192, integer: true, example: 128, label: 'MLP width' });
    if (message) errors.push({ field: 'd_ff', message: `${message}, or 'auto'` });
  }
  if (cfg.positions !== 'rope' && cfg.positions !== 'absolute') {
    errors.push({ field: 'positions', message: `positions = ${String(cfg.positions)} is invalid: use 'rope' or 'absolute'` });
  }
  if (cfg.architecture !== 'transformer') {
    errors.push({ field: 'architecture', message: `architecture = ${String(cfg.architecture)} is invalid here: a Transformer config needs architecture 'transformer'` });
  }
  const maxLenMessage = checkField('max_len', cfg.max_len, MAX_LEN_RULE);
  if (maxLenMessage) errors.push({ field: 'max_len', message: maxLenMessage });
  if (errors.length > 0) throw new ConfigError(errors);

  const dFf = cfg.d_ff === 'auto' ? Math.ceil((8 * cfg.d_model) / 3 / 8) * 8 : cfg.d_ff;
  return {
    architecture: 'transformer',
    vocab_size: cfg.vocab_size,
    d_model: cfg.d_model,
    n_layer: cfg.n_layer,
    n_head: cfg.n_head,
    positions: cfg.positions,
    max_len: cfg.max_len,
    d_ff: dFf,
    head_dim: cfg.d_model / cfg.n_head,
  };
}

export function transformerLayerNames(i: number) {
  const p = `layers.${i}.`;
  return {
    attnNorm: `${p}attn_norm.weight`,
    q: `${p}attn.q_proj.weight`,
    k: `${p}attn.k_proj.weight`,
    v: `${p}attn.v_proj.weight`,
    o: `${p}attn.o_proj.weight`,
    mlpNorm: `${p}mlp_norm.weight`,
    gate: `${p}mlp.gate_proj.weight`,
    up: `${p}mlp.up_proj.weight`,
    down: `${p}mlp.down_proj.weight`,
  };
}

export function buildTransformerLayout(cfg: ResolvedTransformerConfig): ParamLayout {
  const { d_model: d, d_ff: f } = cfg;
  const specs: [string, number[], boolean][] = [['embedding.weight', [cfg.vocab_size, d], true]];
  if (cfg.positions === 'absolute') specs.push(['pos_embedding.weight', [cfg.max_len, d], true]);
  for (let i = 0; i < cfg.n_layer; i++) {
    const n = transformerLayerNames(i);
    specs.push(
      [n.attnNorm, [d], false], [n.q, [d, d], true], [n.k, [d, d], true], [n.v, [d, d], true], [n.o, [d, d], true],
      [n.mlpNorm, [d], false], [n.gate, [f, d], true], [n.up, [f, d], true], [n.down, [d, f], true],
    );
  }
  specs.push(['norm_f.weight', [d], false]);
  return layoutFromSpecs(specs);
}

/**
 * GPT-2 style initialisation: embeddings N(0, 0.02), linear weights N(0, 0.02)
 * with the residual projections (o_proj, down_proj) scaled by 1/√(2·n_layer), norms 1.
 */
export function initTransformerParams(cfg: ResolvedTransformerConfig, layout: ParamLayout, seed: number): Float32Array {
  const rng = new Rng(seed);
  const flat = new Float32Array(layout.totalSize);
  const residualScale = 1 / Math.sqrt(2 * cfg.n_layer);
  for (const e of layout.entries) {
    const t = flat.subarray(e.offset, e.offset + e.size);
    if (e.shape.length === 1) {
      t.fill(1);
      continue;
    }
    const isResidual = e.name.endsWith('o_proj.weight') || e.name.endsWith('down_proj.weight');
    const std = 0.02 * (isResidual ? residualScale : 1);
    for (let i = 0; i < t.length; i++) t[i] = std * rng.normal();
  }
  return flat;
}

interface BlockCache {
  residIn: Vec; attnRstd: Vec; attnIn: Vec; q: Vec; k: Vec; v: Vec; attnOut: Vec; lse: Vec;
  residMid: Vec; mlpRstd: Vec; mlpIn: Vec; gate: Vec; up: Vec; act: Vec;
}

export interface TransformerForward {
  logits: Vec;
  blocks: BlockCache[];
  residOut: Vec;
  hidden: Vec;
  rstdF: Vec;
}

type VecCtor = Float32ArrayConstructor | Float64ArrayConstructor;

export class TransformerModel {
  readonly ctor: VecCtor;

  constructor(readonly cfg: ResolvedTransformerConfig, readonly layout: ParamLayout, precision: 'float32' | 'float64' = 'float32') {
    this.ctor = precision === 'float64' ? Float64Array : Float32Array;
  }

  private tensor(flat: Vec, name: string): Vec {
    const e = this.layout.byName.get(name);
    if (!e) throw new Error(`parameter ${name} not found in the layout`);
    return flat.subarray(e.offset, e.offset + e.size);
  }

  forward(params: Vec, ids: Int32Array, b: number, l: number): TransformerForward {
    const { d_model: d, d_ff: f, n_head: nh, head_dim: hd, vocab_size } = this.cfg;
    if (this.cfg.positions === 'absolute' && l > this.cfg.max_len) {
      throw new Error(`sequence length ${l} exceeds max_len = ${this.cfg.max_len}: raise max_len or use rotary positions`);
    }
    const V = this.ctor;
    const T = b * l;
    const p = (name: string) => this.tensor(params, name);

    let resid: Vec = new V(T * d);
    embeddingForward(resid, ids, p('embedding.weight'), T, d);
    if (this.cfg.positions === 'absolute') positionEmbeddingForward(resid, p('pos_embedding.weight'), b, l, d);

    const blocks: BlockCache[] = [];
    for (let i = 0; i < this.cfg.n_layer; i++) {
      const n = transformerLayerNames(i);
      const c: BlockCache = {
        residIn: resid, attnRstd: new V(T), attnIn: new V(T * d), q: new V(T * d), k: new V(T * d), v: new V(T * d),
        attnOut: new V(T * d), lse: new V(b * nh * l), residMid: new V(T * d), mlpRstd: new V(T), mlpIn: new V(T * d),
        gate: new V(T * f), up: new V(T * f), act: new V(T * f),
      };
      rmsnormForward(c.attnIn, c.attnRstd, resid, p(n.attnNorm), T, d);
      matmulForward(c.q, c.attnIn, p(n.q), T, d, d);
      matmulForward(c.k, c.attnIn, p(n.k), T, d, d);
      matmulForward(c.v, c.attnIn, p(n.v), T, d, d);
      if (this.cfg.positions === 'rope') {
        ropeForward(c.q, c.q, b, l, nh, hd);
        ropeForward(c.k, c.k, b, l, nh, hd);
      }
      attentionForward(c.attnOut, c.lse, c.q, c.k, c.v, b, l, nh, hd);
      const proj = new V(T * d);
      matmulForward(proj, c.attnOut, p(n.o), T, d, d);
      for (let j = 0; j < proj.length; j++) c.residMid[j] = resid[j] + proj[j];

      rmsnormForward(c.mlpIn, c.mlpRstd, c.residMid, p(n.mlpNorm), T, d);
      matmulForward(c.gate, c.mlpIn, p(n.gate), T, d, f);
      matmulForward(c.up, c.mlpIn, p(n.up), T, d, f);
      swigluForward(c.act, c.gate, c.up, T * f);
      const down = new V(T * d);
      matmulForward(down, c.act, p(n.down), T, f, d);
      const next = new V(T * d);
      for (let j = 0; j < next.length; j++) next[j] = c.residMid[j] + down[j];
      resid = next;
      blocks.push(c);
    }

    const hidden = new V(T * d);
    const rstdF = new V(T);
    rmsnormForward(hidden, rstdF, resid, p('norm_f.weight'), T, d);
    const logits = new V(T * vocab_size);
    matmulForward(logits, hidden, p('embedding.weight'), T, d, vocab_size);
    return { logits, blocks, residOut: resid, hidden, rstdF };
  }

  backward(params: Vec, ids: Int32Array, fwd: TransformerForward, dlogits: Vec, b: number, l: number): Vec {
    const { d_model: d, d_ff: f, n_head: nh, head_dim: hd, vocab_size } = this.cfg;
    const V = this.ctor;
    const T = b * l;
    const grads = new V(this.layout.totalSize);
    const p = (name: string) => this.tensor(params, name);
    const g = (name: string) => this.tensor(grads, name);

    const dHidden = new V(T * d);
    matmulBackward(dHidden, g('embedding.weight'), dlogits, fwd.hidden, p('embedding.weight'), T, d, vocab_size, false);
    const dResid = new V(T * d);
    rmsnormBackward(dResid, g('norm_f.weight'), dHidden, fwd.residOut, p('norm_f.weight'), fwd.rstdF, T, d);

    const dAct = new V(T * f);
    const dGate = new V(T * f);
    const dUp = new V(T * f);
    const dIn = new V(T * d);
    const dAttnOut = new V(T * d);
    const dq = new V(T * d);
    const dk = new V(T * d);
    const dv = new V(T * d);
    for (let i = this.cfg.n_layer - 1; i >= 0; i--) {
      const n = transformerLayerNames(i);
      const c = fwd.blocks[i];

      // MLP branch; dResid is the gradient at the block's output and at residMid alike.
      matmulBackward(dAct, g(n.down), dResid, c.act, p(n.down), T, f, d, false);
      swigluBackward(dGate, dUp, dAct, c.gate, c.up, T * f);
      matmulBackward(dIn, g(n.gate), dGate, c.mlpIn, p(n.gate), T, d, f, false);
      matmulBackward(dIn, g(n.up), dUp, c.mlpIn, p(n.up), T, d, f, true);
      rmsnormBackward(dResid, g(n.mlpNorm), dIn, c.residMid, p(n.mlpNorm), c.mlpRstd, T, d);

      // Attention branch.
      matmulBackward(dAttnOut, g(n.o), dResid, c.attnOut, p(n.o), T, d, d, false);
      attentionBackward(dq, dk, dv, dAttnOut, c.q, c.k, c.v, c.attnOut, c.lse, b, l, nh, hd);
      if (this.cfg.positions === 'rope') {
        ropeForward(dq, dq, b, l, nh, hd, true);
        ropeForward(dk, dk, b, l, nh, hd, true);
      }
      matmulBackward(dIn, g(n.q), dq, c.attnIn, p(n.q), T, d, d, false);
      matmulBackward(dIn, g(n.k), dk, c.attnIn, p(n.k), T, d, d, true);
      matmulBackward(dIn, g(n.v), dv, c.attnIn, p(n.v), T, d, d, true);
      rmsnormBackward(dResid, g(n.attnNorm), dIn, c.residIn, p(n.attnNorm), c.attnRstd, T, d);
    }

    embeddingBackward(g('embedding.weight'), dResid, ids, T, d);
    if (this.cfg.positions === 'absolute') positionEmbeddingBackward(g('pos_embedding.weight'), dResid, b, l, d);
    return grads;
  }

  /** Masked mean cross-entropy, its gradient and accuracy, as MambaModel.lossAndGrad. */
  lossAndGrad(params: Vec, ids: Int32Array, targets: Int32Array, mask: Float32Array, b: number, l: number) {
    const fwd = this.forward(params, ids, b, l);
    const r = maskedLoss(fwd.logits, targets, mask, b * l, this.cfg.vocab_size);
    const grads = this.backward(params, ids, fwd, r.dlogits, b, l);
    return { loss: r.loss, accuracy: r.accuracy, answerCount: r.answerCount, grads, fwd };
  }

}
