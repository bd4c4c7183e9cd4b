/**
 * Token-by-token decoding for the Transformer baseline with a KV cache: each
 * step appends one key and value per layer and attends over all of them, so
 * memory and time per token grow linearly with the context.
 */
import { ropeRow, swigluForward } from './attentionOps';
import { matmulForward, rmsnormForward, type Vec } from './ops';
import { transformerLayerNames, type TransformerModel } from './transformer';

/**
 * Attention of one query per batch row over the first `length` rows of a KV
 * cache, every head: out = softmax(q kᵀ / √head_dim) v. q and out are
 * (b, n_head · head_dim), already rotated when RoPE is used; kCache and vCache
 * are (b, capacity, n_head · head_dim). Equals the last row of attentionForward
 * in attentionOps.ts over the same keys and values.
 */
export function attentionDecode(
  out: Vec, q: Vec, kCache: Vec, vCache: Vec, b: number, capacity: number, length: number, nHead: number, headDim: number,
): void {
  const d = nHead * headDim;
  const scale = 1 / Math.sqrt(headDim);
  const scores = new Float64Array(length);
  for (let r = 0; r < b; r++) {
    for (let h = 0; h < nHead; h++) {
      const qo = r * d + h * headDim;
      let max = -Infinity;
      for (let s = 0; s < length; s++) {
        const ko = (r * capacity + s) * d + h * headDim;
        let dot = 0;
        for (let e = 0; e < headDim; e++) dot += q[qo + e] * kCache[ko + e];
        scores[s] = dot * scale;
        max = Math.max(max, scores[s]);
      }
      let sum = 0;
      for (let s = 0; s < length; s++) sum += (scores[s] = Math.exp(scores[s] - max));
      for (let e = 0; e < headDim; e++) out[qo + e] = 0;
      for (let s = 0; s < length; s++) {
        const vo = (r * capacity + s) * d + h * headDim;
        for (let e = 0; e < headDim; e++) out[qo + e] += (scores[s] / sum) * vCache[vo + e];
      }
    }
  }
}

export class TransformerDecoder {
  /** keys[layer] and values[layer] are (b, capacity, d_model); rows past `position` are unused. */
  private keys: Float64Array[] = [];
  private values: Float64Array[] = [];
  private position = 0;

  constructor(readonly model: TransformerModel, readonly params: Vec, readonly batch: number, readonly capacity: number) {
    this.reset();
  }

  /** Floats of cached keys and values now held, which grows by 2·n_layer·b·d_model per token. */
  get cacheSize(): number {
    return 2 * this.model.cfg.n_layer * this.batch * this.position * this.model.cfg.d_model;
  }

  reset(): void {
    const size = this.batch * this.capacity * this.model.cfg.d_model;
    this.keys = Array.from({ length: this.model.cfg.n_layer }, () => new Float64Array(size));
    this.values = Array.from({ length: this.model.cfg.n_layer }, () => new Float64Array(size));
    this.position = 0;
  }

  private tensor(name: string): Vec {
    const e = this.model.layout.byName.get(name)!;
    return this.params.subarray(e.offset, e.offset + e.size);
  }

  /** Consumes one token per batch row and returns the next-token logits (b, vocab). */
  step(tokens: Int32Array): Float64Array {
    const cfg = this.model.cfg;
    const { d_model: d, d_ff: f, n_head: nh, head_dim: hd, vocab_size } = cfg;
    const b = this.batch;
    const t = this.position;
    if (tokens.length !== b) throw new Error(`step expects ${b} tokens (one per batch row), got ${tokens.length}`);
    if (t >= this.capacity) throw new Error(`the KV cache is full at ${this.capacity} tokens: create a decoder with a larger capacity`);
    if (cfg.positions === 'absolute' && t >= cfg.max_len) throw new Error(`position ${t} exceeds max_len = ${cfg.max_len}`);
    const p = (name: string) => this.tensor(name);

    const emb = p('embedding.weight');
    const resid = new Float64Array(b * d);
    for (let r = 0; r < b; r++) {
      for (let j = 0; j < d; j++) resid[r * d + j] = emb[tokens[r] * d + j];
      if (cfg.positions === 'absolute') {
        const pos = p('pos_embedding.weight');
        for (let j = 0; j < d; j++) resid[r * d + j] += pos[t * d + j];
      }
    }

    const xn = new Float64Array(b * d);
    const rstd = new Float64Array(b);
    const q = new Float64Array(b * d);
    const k = new Float64Array(b * d);
    const v = new Float64Array(b * d);
    const att = new Float64Array(b * d);
    const proj = new Float64Array(b * d);
    const gate = new Float64Array(b * f);
    const up = new Float64Array(b * f);
    const act = new Float64Array(b * f);

    for (let i = 0; i < cfg.n_layer; i++) {
      const n = transformerLayerNames(i);
      rmsnormForward(xn, rstd, resid, p(n.attnNorm), b, d);
      matmulForward(q, xn, p(n.q), b, d, d);
      matmulForward(k, xn, p(n.k), b, d, d);
      matmulForward(v, xn, p(n.v), b, d, d);
      if (cfg.positions === 'rope') {
        for (let r = 0; r < b; r++) {
          ropeRow(q, q, r * d, nh, hd, t);
          ropeRow(k, k, r * d, nh, hd, t);
        }
      }

      const K = this.keys[i];
      const Vc = this.values[i];
      for (let r = 0; r < b; r++) {
        K.set(k.subarray(r * d, (r + 1) * d), (r * this.capacity + t) * d);
        Vc.set(v.subarray(r * d, (r + 1) * d), (r * this.capacity + t) * d);
      }
      attentionDecode(att, q, K, Vc, b, this.capacity, t + 1, nh, hd);
      matmulForward(proj, att, p(n.o), b, d, d);
      for (let j = 0; j < resid.length; j++) resid[j] += proj[j];

      rmsnormForward(xn, rstd, resid, p(n.mlpNorm), b, d);
      matmulForward(gate, xn, p(n.gate), b, d, f);
      matmulForward(up, xn, p(n.up), b, d, f);
      swigluForward(act, gate, up, b * f);
      matmulForward(proj, act, p(n.down), b, f, d);
      for (let j = 0; j < resid.length; j++) resid[j] += proj[j];
    }

    const hidden = new Float64Array(b * d);
    rmsnormForward(hidden, rstd, resid, p('norm_f.weight'), b, d);
    const logits = new Float64Array(b * vocab_size);
    matmulForward(logits, hidden, p('embedding.weight'), b, d, vocab_size);
    this.position++;
    return logits;
  }
}

