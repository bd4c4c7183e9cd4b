/**
 * CPU reference of every kernel the engines run. Each function has a WGSL
 * counterpart in shaders/ with the same name stem and argument order: outputs
 * first, then inputs, then sizes. Shapes use the glossary in config.ts.
 *
 * Conventions shared with the kernels:
 * - Gradients of parameters accumulate (+=), because the trainer zeroes all of
 *   them once per step and the embedding receives two contributions.
 * - Gradients of activations overwrite, unless an `accumulate` flag is set.
 * - Arrays may be Float32Array or Float64Array; the float64 path exists for
 *   finite-difference gradient checks.
 */
export type Vec = Float32Array | Float64Array;

export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/** Derivative of SiLU: σ(x)(1 + x(1 − σ(x))). */
export function siluGrad(x: number): number {
  const s = 1 / (1 + Math.exp(-x));
  return s * (1 + x * (1 - s));
}

/** Activation of a gate or of the convolution: SiLU, or none (the identity). */
export type Activation = 'silu' | 'identity';

function activate(x: number, activation: Activation): number {
  return activation === 'silu' ? silu(x) : x;
}

function activateGrad(x: number, activation: Activation): number {
  return activation === 'silu' ? siluGrad(x) : 1;
}

/** softplus as torch computes it: x itself above 20. */
export function softplus(x: number): number {
  return x > 20 ? x : Math.log1p(Math.exp(x));
}

// ---------------------------------------------------------------- embedding

/** out (n_tok, dim) = W[ids] with W (vocab, dim). */
export function embeddingForward(out: Vec, ids: Int32Array, W: Vec, nTok: number, dim: number): void {
  for (let t = 0; t < nTok; t++) {
    const row = ids[t] * dim;
    for (let j = 0; j < dim; j++) out[t * dim + j] = W[row + j];
  }
}

/** dW[ids[t]] += dOut[t]. */
export function embeddingBackward(dW: Vec, dOut: Vec, ids: Int32Array, nTok: number, dim: number): void {
  for (let t = 0; t < nTok; t++) {
    const row = ids[t] * dim;
    for (let j = 0; j < dim; j++) dW[row + j] += dOut[t * dim + j];
  }
}

// ---------------------------------------------------------------- RMSNorm

export const RMS_EPS = 1e-5;

/** y = x · rsqrt(mean(x²) + eps) · w over rows of length dim; stores rstd (rows) for backward. */
export function rmsnormForward(y: Vec, rstd: Vec, x: Vec, w: Vec, rows: number, dim: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let ss = 0;
    for (let j = 0; j < dim; j++) ss += x[o + j] * x[o + j];
    const s = 1 / Math.sqrt(ss / dim + RMS_EPS);
    rstd[r] = s;
    for (let j = 0; j < dim; j++) y[o + j] = x[o + j] * s * w[j];
  }
}

/** dx += ∂L/∂x (the residual stream's gradient accumulates); dw += ∂L/∂w. */
export function rmsnormBackward(dx: Vec, dw: Vec, dy: Vec, x: Vec, w: Vec, rstd: Vec, rows: number, dim: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const s = rstd[r];
    // With xhat = x·s: dx = s·(g − xhat·mean(g·xhat)), g = dy·w.
    let dot = 0;
    for (let j = 0; j < dim; j++) {
      const xhat = x[o + j] * s;
      dot += dy[o + j] * w[j] * xhat;
      dw[j] += dy[o + j] * xhat;
    }
    dot /= dim;
    for (let j = 0; j < dim; j++) {
      const xhat = x[o + j] * s;
      dx[o + j] += s * (dy[o + j] * w[j] - xhat * dot);
    }
  }
}

// ---------------------------------------------------------------- linear

/** y (m, n) = x (m, k) · Wᵀ with W (n, k). */
export function matmulForward(y: Vec, x: Vec, W: Vec, m: number, k: number, n: number): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += x[i * k + p] * W[j * k + p];
      y[i * n + j] = acc;
    }
  }
}

/** dx (m, k) = dy · W (or += when accumulate); dW (n, k) += dyᵀ · x. */
export function matmulBackward(
  dx: Vec | null, dW: Vec, dy: Vec, x: Vec, W: Vec, m: number, k: number, n: number, accumulate: boolean,
): void {
  // Loops run i, j, p so that the innermost loop walks rows of W, dW, x and dx contiguously.
  const row = new Float64Array(k);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let j = 0; j < n; j++) {
      const g = dy[i * n + j];
      if (g === 0) continue;
      const w = j * k;
      const xi = i * k;
      for (let p = 0; p < k; p++) {
        row[p] += g * W[w + p];
        dW[w + p] += g * x[xi + p];
      }
    }
    if (dx) {
      for (let p = 0; p < k; p++) dx[i * k + p] = accumulate ? dx[i * k + p] + row[p] : row[p];
    }
  }
}

// ---------------------------------------------------------------- SiLU

/** out = SiLU(x) over count elements. */
export function siluForward(out: Vec, x: Vec, count: number): void {
  for (let i = 0; i < count; i++) out[i] = silu(x[i]);
}

/** dx = dout ⊙ SiLU'(x), overwritten. */
export function siluBackward(dx: Vec, dout: Vec, x: Vec, count: number): void {
  for (let i = 0; i < count; i++) dx[i] = dout[i] * siluGrad(x[i]);
}

// ---------------------------------------------------------------- gate

/** out = y ⊙ SiLU(z), or the plain product y ⊙ z with activation 'identity' (H3's gates). */
export function siluGateForward(out: Vec, y: Vec, z: Vec, count: number, activation: Activation = 'silu'): void {
  for (let i = 0; i < count; i++) out[i] = y[i] * activate(z[i], activation);
}

/** dy = dout ⊙ act(z) and dz = dout ⊙ y ⊙ act'(z), both overwritten. */
export function siluGateBackward(
  dy: Vec, dz: Vec, dout: Vec, y: Vec, z: Vec, count: number, activation: Activation = 'silu',
): void {
  for (let i = 0; i < count; i++) {
    dz[i] = dout[i] * y[i] * activateGrad(z[i], activation);
    dy[i] = dout[i] * activate(z[i], activation);
  }
}

// ---------------------------------------------------------------- causal depthwise conv1d + SiLU

/**
 * pre (b, l, d) = bias + causal depthwise convolution of x (b, l, d) with w (d, 1, k);
 * u = SiLU(pre), or u = pre with activation 'identity' (H3's shift SSM).
 * Matches PyTorch's Conv1d(groups=d, padding=k−1) truncated to l:
 * pre[t] = bias + Σ_j w[j] · x[t − (k−1) + j], with zeros before the start.
 */
export function conv1dSiluForward(
  pre: Vec, u: Vec, x: Vec, w: Vec, bias: Vec, b: number, l: number, d: number, k: number, activation: Activation = 'silu',
): void {
  for (let bi = 0; bi < b; bi++) {
    for (let t = 0; t < l; t++) {
      for (let c = 0; c < d; c++) {
        let acc = bias[c];
        for (let j = 0; j < k; j++) {
          const s = t - (k - 1) + j;
          if (s >= 0) acc += w[c * k + j] * x[(bi * l + s) * d + c];
        }
        const o = (bi * l + t) * d + c;
        pre[o] = acc;
        u[o] = activate(acc, activation);
      }
    }
  }
}

/** dx (b, l, d) overwritten; dw, dbias accumulate. du is the gradient of the activation's output. */
export function conv1dSiluBackward(
  dx: Vec, dw: Vec, dbias: Vec, du: Vec, pre: Vec, x: Vec, w: Vec, b: number, l: number, d: number, k: number,
  activation: Activation = 'silu',
): void {
  dx.fill(0, 0, b * l * d);
  for (let bi = 0; bi < b; bi++) {
    for (let t = 0; t < l; t++) {
      for (let c = 0; c < d; c++) {
        const o = (bi * l + t) * d + c;
        const g = du[o] * activateGrad(pre[o], activation);
        dbias[c] += g;
        for (let j = 0; j < k; j++) {
          const s = t - (k - 1) + j;
          if (s < 0) continue;
          const xo = (bi * l + s) * d + c;
          dw[c * k + j] += g * x[xo];
          dx[xo] += g * w[c * k + j];
        }
      }
    }
  }
}

// ---------------------------------------------------------------- selective scan

/** Sizes and switches of one selective scan call. */
export interface ScanDims {
  b: number;
  l: number;
  d: number;
  n: number;
  /** B is (b, l, n) when true, (d, n) when false (the LTI variant). */
  variableB: boolean;
  variableC: boolean;
  softplus: boolean;
  /** Activation of the gate z: out = y ⊙ SiLU(z) ('silu', the default) or y ⊙ z ('identity'). */
  gate?: Activation;
}

/**
 * Inputs of the selective scan; z, D and deltaBias are optional as in
 * selective_scan_ref. A null delta counts as zeros, so Δ = softplus(deltaBias),
 * one value per channel (the LTI variant's fixed Δ).
 */
export interface ScanInputs {
  u: Vec; // (b, l, d)
  delta: Vec | null; // (b, l, d), before bias and softplus
  A: Vec; // (d, n), negative
  B: Vec; // (b, l, n) or (d, n)
  C: Vec; // (b, l, n) or (d, n)
  D: Vec | null; // (d)
  z: Vec | null; // (b, l, d)
  deltaBias: Vec | null; // (d)
}

/** Offset of B or C at (bi, t, c, s = 0), for either layout. */
function bcBase(variable: boolean, dims: ScanDims, bi: number, t: number, c: number): number {
  return variable ? (bi * dims.l + t) * dims.n : c * dims.n;
}

/** Δ after bias and (optionally) softplus, for one element. */
export function scanDelta(inp: ScanInputs, dims: ScanDims, idx: number, c: number): number {
  return deltaFromRaw(scanDeltaRaw(inp, idx, c), dims);
}

/** Δ before softplus: delta + deltaBias, with a missing delta or bias counting as zero. */
function scanDeltaRaw(inp: ScanInputs, idx: number, c: number): number {
  return (inp.delta ? inp.delta[idx] : 0) + (inp.deltaBias ? inp.deltaBias[c] : 0);
}

function deltaFromRaw(raw: number, dims: ScanDims): number {
  return dims.softplus ? softplus(raw) : raw;
}

/**
 * Selective scan, after selective_scan_ref in state-spaces/mamba, in (b, l, d) layout:
 *   Δ = softplus(delta + delta_bias),  h_t = exp(Δ_t A) ⊙ h_{t−1} + Δ_t B_t u_t,
 *   y_t = C_t · h_t + D ⊙ u_t,  out = y ⊙ SiLU(z).
 * Without softplus Δ = delta + delta_bias; with dims.gate 'identity' out = y ⊙ z.
 * B̄ uses the simplified (Euler) discretisation Δ·B, as the reference does.
 * Writes out (b, l, d); lastState (b, d, n); and, when given, deltaOut (b, l, d)
 * with the discretisation step and states (b, l, d, n) with every h_t, for probes.
 */
export function selectiveScanForward(
  out: Vec, lastState: Vec | null, deltaOut: Vec | null, states: Vec | null, inp: ScanInputs, dims: ScanDims,
): void {
  const { b, l, d, n } = dims;
  const h = new Float64Array(n);
  for (let bi = 0; bi < b; bi++) {
    for (let c = 0; c < d; c++) {
      h.fill(0);
      for (let t = 0; t < l; t++) {
        const o = (bi * l + t) * d + c;
        const dt = scanDelta(inp, dims, o, c);
        const uv = inp.u[o];
        const bo = bcBase(dims.variableB, dims, bi, t, c);
        const co = bcBase(dims.variableC, dims, bi, t, c);
        let y = 0;
        for (let s = 0; s < n; s++) {
          h[s] = Math.exp(dt * inp.A[c * n + s]) * h[s] + dt * inp.B[bo + s] * uv;
          y += h[s] * inp.C[co + s];
          if (states) states[o * n + s] = h[s];
        }
        if (inp.D) y += inp.D[c] * uv;
        out[o] = inp.z ? y * activate(inp.z[o], dims.gate ?? 'silu') : y;
        if (deltaOut) deltaOut[o] = dt;
      }
      if (lastState) for (let s = 0; s < n; s++) lastState[(bi * d + c) * n + s] = h[s];
    }
  }
}

/**
 * Gradients of the selective scan. Token-shaped ones overwrite; dA, dB/dC (LTI),
 * dD, dDeltaBias accumulate. dDelta may be null when the input delta is.
 */
export interface ScanGrads {
  du: Vec;
  dDelta: Vec | null;
  dA: Vec;
  dB: Vec;
  dC: Vec;
  dD: Vec | null;
  dz: Vec | null;
  dDeltaBias: Vec | null;
}

/**
 * Backward of selectiveScanForward. Runs the recurrence in reverse, recomputing
 * the states of one (batch, channel) pair at a time instead of storing them all.
 */
export function selectiveScanBackward(g: ScanGrads, dout: Vec, inp: ScanInputs, dims: ScanDims): void {
  const { b, l, d, n } = dims;
  if (dims.variableB) g.dB.fill(0, 0, b * l * n);
  if (dims.variableC) g.dC.fill(0, 0, b * l * n);
  const hs = new Float64Array((l + 1) * n); // hs[t+1] = h_t, hs[0] = h_{-1} = 0
  const dh = new Float64Array(n);

  for (let bi = 0; bi < b; bi++) {
    for (let c = 0; c < d; c++) {
      hs.fill(0, 0, n);
      for (let t = 0; t < l; t++) {
        const o = (bi * l + t) * d + c;
        const dt = scanDelta(inp, dims, o, c);
        const bo = bcBase(dims.variableB, dims, bi, t, c);
        for (let s = 0; s < n; s++) {
          hs[(t + 1) * n + s] = Math.exp(dt * inp.A[c * n + s]) * hs[t * n + s] + dt * inp.B[bo + s] * inp.u[o];
        }
      }

      dh.fill(0);
      for (let t = l - 1; t >= 0; t--) {
        const o = (bi * l + t) * d + c;
        const bo = bcBase(dims.variableB, dims, bi, t, c);
        const co = bcBase(dims.variableC, dims, bi, t, c);
        const raw = scanDeltaRaw(inp, o, c);
        const dt = deltaFromRaw(raw, dims);
        const uv = inp.u[o];

        // Through the gate: out = y · SiLU(z), or y · z.
        let dy = dout[o];
        if (inp.z && g.dz) {
          const gate = dims.gate ?? 'silu';
          let y = 0;
          for (let s = 0; s < n; s++) y += hs[(t + 1) * n + s] * inp.C[co + s];
          if (inp.D) y += inp.D[c] * uv;
          g.dz[o] = dy * y * activateGrad(inp.z[o], gate);
          dy *= activate(inp.z[o], gate);
        }

        let du = 0;
        if (inp.D && g.dD) {
          g.dD[c] += dy * uv;
          du += dy * inp.D[c];
        }

        let dDt = 0;
        for (let s = 0; s < n; s++) {
          const hPrev = hs[t * n + s];
          const hCur = hs[(t + 1) * n + s];
          const a = inp.A[c * n + s];
          const decay = Math.exp(dt * a);
          const bv = inp.B[bo + s];
          g.dC[co + s] += dy * hCur;
          dh[s] += dy * inp.C[co + s];

          // h_t = exp(Δ a) h_{t−1} + Δ b u
          dDt += dh[s] * (a * decay * hPrev + bv * uv);
          g.dA[c * n + s] += dh[s] * dt * decay * hPrev;
          g.dB[bo + s] += dh[s] * dt * uv;
          du += dh[s] * dt * bv;
          dh[s] *= decay;
        }

        const dRaw = dims.softplus ? dDt / (1 + Math.exp(-raw)) : dDt;
        if (g.dDelta) g.dDelta[o] = dRaw;
        if (g.dDeltaBias) g.dDeltaBias[c] += dRaw;
        g.du[o] = du;
      }
    }
  }
}

// ---------------------------------------------------------------- cross-entropy

/**
 * Softmax cross-entropy over rows of logits (rows, vocab), weighted by mask.
 * Writes lossRows[r] = mask[r]·CE(r) and dlogits = mask[r]·scale·(softmax − onehot),
 * and correct[r] = 1 when the argmax equals the target (0 where mask is 0).
 * With scale = 1/Σmask the loss is the mean over masked positions.
 */
export function crossEntropyForwardBackward(
  lossRows: Vec, correct: Vec, dlogits: Vec, logits: Vec, targets: Int32Array, mask: Vec, rows: number, vocab: number, scale: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * vocab;
    let max = -Infinity;
    let arg = 0;
    for (let v = 0; v < vocab; v++) {
      if (logits[o + v] > max) {
        max = logits[o + v];
        arg = v;
      }
    }
    let sum = 0;
    for (let v = 0; v < vocab; v++) sum += Math.exp(logits[o + v] - max);
    const target = targets[r];
    const m = mask[r];
    lossRows[r] = m === 0 ? 0 : m * (Math.log(sum) + max - logits[o + target]);
    correct[r] = m !== 0 && arg === target ? 1 : 0;
    for (let v = 0; v < vocab; v++) {
      const p = Math.exp(logits[o + v] - max) / sum;
      dlogits[o + v] = m * scale * (p - (v === target ? 1 : 0));
    }
  }
}

// ---------------------------------------------------------------- optimizer

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** Sum of squares of grads, for global-norm clipping. */
export function sumOfSquares(grads: Vec): number {
  let s = 0;
  for (let i = 0; i < grads.length; i++) s += grads[i] * grads[i];
  return s;
}

/**
 * One AdamW step (Loshchilov and Hutter, decoupled weight decay, as torch.optim.AdamW)
 * over a range of the flat buffers. gradScale multiplies the gradient first (clipping).
 * step counts from 1.
 */
export function adamwUpdate(
  params: Vec, m: Vec, v: Vec, grads: Vec, offset: number, size: number, hp: AdamWHyper, decay: boolean, step: number, gradScale: number,
): void {
  const bc1 = 1 - hp.beta1 ** step;
  const bc2 = 1 - hp.beta2 ** step;
  const wd = decay ? hp.weightDecay : 0;
  for (let i = offset; i < offset + size; i++) {
    const g = grads[i] * gradScale;
    m[i] = hp.beta1 * m[i] + (1 - hp.beta1) * g;
    v[i] = hp.beta2 * v[i] + (1 - hp.beta2) * g * g;
    params[i] -= hp.lr * wd * params[i];
    params[i] -= (hp.lr * (m[i] / bc1)) / (Math.sqrt(v[i] / bc2) + hp.eps);
  }
}
