/**
 * CPU reference of the Transformer baseline's kernels: learned absolute and
 * rotary position embeddings, causal multi-head attention and the SwiGLU gate. Same conventions
 * as ops.ts: outputs first, parameter gradients accumulate, activation gradients
 * overwrite. Heads are contiguous column blocks of a (b, l, n_head·head_dim)
 * tensor: head h owns columns [h·head_dim, (h+1)·head_dim).
 */
import { silu, siluGrad, type Vec } from './ops';

export const ROPE_BASE = 10000;

/**
 * Adds learned absolute position embeddings (GPT-2 style) to the token
 * embeddings: out[bi, t, j] += W[t, j] over out (b, l, dim), with W (max_len, dim)
 * and l ≤ max_len.
 */
export function positionEmbeddingForward(out: Vec, W: Vec, b: number, l: number, dim: number): void {
  for (let r = 0; r < b * l; r++) {
    const row = (r % l) * dim;
    for (let j = 0; j < dim; j++) out[r * dim + j] += W[row + j];
  }
}

/** dW[t, j] += Σ_bi dOut[bi, t, j]. Rows of dW from l on keep their values. */
export function positionEmbeddingBackward(dW: Vec, dOut: Vec, b: number, l: number, dim: number): void {
  for (let r = 0; r < b * l; r++) {
    const row = (r % l) * dim;
    for (let j = 0; j < dim; j++) dW[row + j] += dOut[r * dim + j];
  }
}

/**
 * Rotary position embedding (Su et al., RoFormer, 2021), rotating the pairs
 * (2i, 2i+1) of every head by position·base^(−2i/head_dim). With inverse = true
 * it rotates by the negative angle, which is also the backward pass, because a
 * rotation's transpose is its inverse. out may alias x.
 */
export function ropeForward(out: Vec, x: Vec, b: number, l: number, nHead: number, headDim: number, inverse = false): void {
  const width = nHead * headDim;
  for (let bi = 0; bi < b; bi++) {
    for (let t = 0; t < l; t++) ropeRow(out, x, (bi * l + t) * width, nHead, headDim, inverse ? -t : t);
  }
}

/** Rotates the nHead·headDim values of one token at offset o by position t (negative t rotates back). */
export function ropeRow(out: Vec, x: Vec, o: number, nHead: number, headDim: number, t: number): void {
  const half = headDim >> 1;
  for (let i = 0; i < half; i++) {
    const angle = t * Math.pow(ROPE_BASE, (-2 * i) / headDim);
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    for (let h = 0; h < nHead; h++) {
      const e = o + h * headDim + 2 * i;
      const x0 = x[e];
      const x1 = x[e + 1];
      out[e] = x0 * cos - x1 * sin;
      out[e + 1] = x0 * sin + x1 * cos;
    }
  }
  // An odd head_dim leaves its last column unrotated.
  if (headDim % 2 === 1 && out !== x) {
    for (let h = 0; h < nHead; h++) out[o + h * headDim + headDim - 1] = x[o + h * headDim + headDim - 1];
  }
}

/**
 * Causal scaled dot-product attention per head: out = softmax(q kᵀ/√head_dim + causal mask) v.
 * q, k, v and out are (b, l, n_head·head_dim); lse (b, n_head, l) stores each row's
 * log-sum-exp of the scaled scores for backward, as FlashAttention does.
 */
export function attentionForward(
  out: Vec, lse: Vec, q: Vec, k: Vec, v: Vec, b: number, l: number, nHead: number, headDim: number,
): void {
  const width = nHead * headDim;
  const scale = 1 / Math.sqrt(headDim);
  const scores = new Float64Array(l);
  for (let bi = 0; bi < b; bi++) {
    for (let h = 0; h < nHead; h++) {
      for (let i = 0; i < l; i++) {
        const qo = (bi * l + i) * width + h * headDim;
        let max = -Infinity;
        for (let j = 0; j <= i; j++) {
          const ko = (bi * l + j) * width + h * headDim;
          let s = 0;
          for (let e = 0; e < headDim; e++) s += q[qo + e] * k[ko + e];
          scores[j] = s * scale;
          if (scores[j] > max) max = scores[j];
        }
        let sum = 0;
        for (let j = 0; j <= i; j++) sum += Math.exp(scores[j] - max);
        const logSum = max + Math.log(sum);
        lse[(bi * nHead + h) * l + i] = logSum;
        for (let e = 0; e < headDim; e++) out[qo + e] = 0;
        for (let j = 0; j <= i; j++) {
          const p = Math.exp(scores[j] - logSum);
          const vo = (bi * l + j) * width + h * headDim;
          for (let e = 0; e < headDim; e++) out[qo + e] += p * v[vo + e];
        }
      }
    }
  }
}

/**
 * Backward of attentionForward, recomputing probabilities from lse:
 * with P the attention weights and Dᵢ = Σ dOutᵢ·outᵢ,
 * dS = P ⊙ (dOut vᵀ − D), dq = dS k /√head_dim, dk = dSᵀ q /√head_dim, dv = Pᵀ dOut.
 */
export function attentionBackward(
  dq: Vec, dk: Vec, dv: Vec, dout: Vec, q: Vec, k: Vec, v: Vec, out: Vec, lse: Vec,
  b: number, l: number, nHead: number, headDim: number,
): void {
  const width = nHead * headDim;
  const scale = 1 / Math.sqrt(headDim);
  const size = b * l * width;
  dq.fill(0, 0, size);
  dk.fill(0, 0, size);
  dv.fill(0, 0, size);
  for (let bi = 0; bi < b; bi++) {
    for (let h = 0; h < nHead; h++) {
      for (let i = 0; i < l; i++) {
        const qo = (bi * l + i) * width + h * headDim;
        let dDot = 0;
        for (let e = 0; e < headDim; e++) dDot += dout[qo + e] * out[qo + e];
        const logSum = lse[(bi * nHead + h) * l + i];
        for (let j = 0; j <= i; j++) {
          const ko = (bi * l + j) * width + h * headDim;
          let s = 0;
          let dp = 0;
          for (let e = 0; e < headDim; e++) {
            s += q[qo + e] * k[ko + e];
            dp += dout[qo + e] * v[ko + e];
          }
          const p = Math.exp(s * scale - logSum);
          const ds = p * (dp - dDot) * scale;
          for (let e = 0; e < headDim; e++) {
            dq[qo + e] += ds * k[ko + e];
            dk[ko + e] += ds * q[qo + e];
            dv[ko + e] += p * dout[qo + e];
          }
        }
      }
    }
  }
}

/** SwiGLU (Shazeer, 2020): out = SiLU(gate) ⊙ up, elementwise over n values. */
export function swigluForward(out: Vec, gate: Vec, up: Vec, n: number): void {
  for (let i = 0; i < n; i++) out[i] = silu(gate[i]) * up[i];
}

/** dGate and dUp overwrite. */
export function swigluBackward(dGate: Vec, dUp: Vec, dout: Vec, gate: Vec, up: Vec, n: number): void {
  for (let i = 0; i < n; i++) {
    dGate[i] = dout[i] * up[i] * siluGrad(gate[i]);
    dUp[i] = dout[i] * silu(gate[i]);
  }
}

/**
 * Attention weights of one sequence (b = 1) from the q, k and lse that
 * attentionForward used: probs is (n_head, l, l), row t holding
 * exp(q_t·k_s/√head_dim − lse_t) for s ≤ t and 0 above the diagonal.
 */
export function attentionProbs(q: Vec, k: Vec, lse: Vec, l: number, nHead: number, headDim: number): Float32Array {
  const width = nHead * headDim;
  const scale = 1 / Math.sqrt(headDim);
  const probs = new Float32Array(nHead * l * l);
  for (let h = 0; h < nHead; h++) {
    for (let t = 0; t < l; t++) {
      const qo = t * width + h * headDim;
      for (let s = 0; s <= t; s++) {
        const ko = s * width + h * headDim;
        let dot = 0;
        for (let e = 0; e < headDim; e++) dot += q[qo + e] * k[ko + e];
        probs[(h * l + t) * l + s] = Math.exp(dot * scale - lse[h * l + t]);
      }
    }
  }
  return probs;
}
