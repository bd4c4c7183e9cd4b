/**
 * CPU reference of the Mamba language model (Gu and Dao, 2023; layout and
 * parameter names of state-spaces/mamba): embedding, n_layer residual blocks
 * x + Mixer(RMSNorm(x)), a final RMSNorm and a head tied to the embedding.
 * Forward keeps the activations that backward needs; backward returns gradients
 * in the flat parameter layout. Every step is an op from ops.ts, in the order the
 * WebGPU engine dispatches its kernels.
 *
 * The mixer, per token, with every ablation of MambaConfig (all (b, l, d_inner)
 * unless noted; in_proj's rows and x_proj's columns are in params.ts):
 *
 *   'mamba' and 'no-gate' blocks:
 *     x, z = in_proj(xn)                    'no-gate' has no z
 *     u    = SiLU(conv1d(x))                use_conv off: u = SiLU(x)
 *   'h3' block (Fu et al., 2023, "Hungry Hungry Hippos"; HazyResearch/H3, h3.py):
 *     q, k, v = in_proj(xn)
 *     k̄    = conv1d(k)                      the shift SSM, no activation; use_conv off: k̄ = k
 *     u    = k̄ ⊙ v
 *   then, for every block, the inner SSM on u:
 *     Δ_raw = dt_proj.weight · x_proj_Δ(u)   selective_delta off: Δ_raw = 0
 *     Δ    = softplus(Δ_raw + dt_proj.bias)  delta_softplus off: Δ = Δ_raw + dt_proj.bias
 *     B_t  = x_proj_B(u_t)                   selective_B off: B, a learned (d_inner, d_state) matrix
 *     C_t  = x_proj_C(u_t)                   selective_C off: C, likewise
 *     h_t  = exp(Δ_t A) ⊙ h_{t−1} + Δ_t B_t u_t,   y_t = C_t · h_t + D ⊙ u_t
 *     o    = y ⊙ SiLU(z) ('mamba'),  y ('no-gate'),  y ⊙ q ('h3')
 *     out  = out_proj(o)
 *
 * H3's shift SSM (its A a shift matrix) is a causal convolution of k with a
 * learned kernel over the last d_state steps, plus a skip term D_k ⊙ k. So the
 * depthwise conv1d with d_conv taps stands in for it here: its taps cover lags
 * 0 .. d_conv − 1, lag 0 playing the skip term, and its bias takes the place of
 * k_proj's bias. H3 runs its SSMs per head. This is its head_dim = 1 form, one
 * SSM per channel, with d_inner = expand · d_model.
 */
import type { ResolvedConfig } from './config';
import { maskedLoss } from './loss';
import { inProjRows, layerParamNames, xProjColumns, type ParamLayout } from './params';
import {
  conv1dSiluBackward, conv1dSiluForward, embeddingBackward, embeddingForward,
  matmulBackward, matmulForward, rmsnormBackward, rmsnormForward, selectiveScanBackward, selectiveScanForward,
  siluBackward, siluForward, siluGateBackward, siluGateForward, type ScanDims, type ScanInputs, type Vec,
} from './ops';

type VecCtor = Float32ArrayConstructor | Float64ArrayConstructor;

/** Activations of one layer kept for backward, all (b·l, ·) token-major; null where the config has no such step. */
interface LayerCache {
  residIn: Vec; // (b·l, d_model), the block's input
  rstd: Vec; // (b·l)
  xn: Vec; // (b·l, d_model), RMSNorm output
  xb: Vec; // (b·l, d_inner), the branch through the conv: x, or k in H3
  z: Vec | null; // (b·l, d_inner), the output gate: z, or q in H3
  v: Vec | null; // (b·l, d_inner), H3's v
  pre: Vec | null; // (b·l, d_inner), conv output before its activation; k̄ in H3
  u: Vec; // (b·l, d_inner), scan input
  dtLow: Vec | null; // (b·l, dt_rank)
  Bm: Vec | null; // (b·l, d_state)
  Cm: Vec | null; // (b·l, d_state)
  deltaRaw: Vec | null; // (b·l, d_inner), before bias and softplus
  A: Vec; // (d_inner, d_state) = −exp(A_log)
  y: Vec; // (b·l, d_inner), gated scan output
  delta: Vec; // (b·l, d_inner), Δ after bias and softplus
  states: Vec | null; // (b·l, d_inner, d_state), only when requested
  mixer: Vec; // (b·l, d_model), out_proj output
}

export interface ForwardResult {
  logits: Vec; // (b·l, vocab)
  layers: LayerCache[];
  residOut: Vec; // (b·l, d_model), residual stream after the last block
  hidden: Vec; // (b·l, d_model), norm_f output
  rstdF: Vec;
  embedded: Vec;
}

/** A view of one tensor, or of rows [rowStart, rowEnd) of a row-major matrix. */
function rows(layout: ParamLayout, flat: Vec, name: string, rowStart = 0, rowEnd?: number): Vec {
  const e = layout.byName.get(name);
  if (!e) throw new Error(`parameter ${name} not found in the layout`);
  const cols = e.shape.length > 1 ? e.size / e.shape[0] : 1;
  const end = rowEnd ?? e.shape[0];
  return flat.subarray(e.offset + rowStart * cols, e.offset + end * cols);
}

export class MambaModel {
  readonly ctor: VecCtor;

  constructor(readonly cfg: ResolvedConfig, readonly layout: ParamLayout, precision: 'float32' | 'float64' = 'float32') {
    this.ctor = precision === 'float64' ? Float64Array : Float32Array;
  }

  scanDims(b: number, l: number): ScanDims {
    const { cfg } = this;
    return {
      b, l, d: cfg.d_inner, n: cfg.d_state, variableB: cfg.selective_B, variableC: cfg.selective_C,
      softplus: cfg.delta_softplus, gate: cfg.block === 'h3' ? 'identity' : 'silu',
    };
  }

  /** Runs the model on ids (b, l); keepStates stores every h_t for probes. */
  forward(params: Vec, ids: Int32Array, b: number, l: number, keepStates = false): ForwardResult {
    const { d_model, d_inner, d_state, dt_rank, d_conv, vocab_size } = this.cfg;
    const V = this.ctor;
    const T = b * l;
    const p = (name: string, r0?: number, r1?: number) => rows(this.layout, params, name, r0, r1);
    const inRows = inProjRows(this.cfg);
    const cols = xProjColumns(this.cfg);
    const h3 = this.cfg.block === 'h3';

    const embedded = new V(T * d_model);
    embeddingForward(embedded, ids, p('embedding.weight'), T, d_model);

    let resid: Vec = embedded;
    const layers: LayerCache[] = [];
    for (let i = 0; i < this.cfg.n_layer; i++) {
      const n = layerParamNames(i);
      const tokens = (width: number, present: boolean) => (present ? new V(T * width) : null);
      const c: LayerCache = {
        residIn: resid, rstd: new V(T), xn: new V(T * d_model), xb: new V(T * d_inner),
        z: tokens(d_inner, inRows.z !== null), v: tokens(d_inner, inRows.v !== null), pre: tokens(d_inner, this.cfg.use_conv),
        u: new V(T * d_inner), dtLow: tokens(dt_rank, cols.delta !== null), Bm: tokens(d_state, cols.B !== null),
        Cm: tokens(d_state, cols.C !== null), deltaRaw: tokens(d_inner, cols.delta !== null), A: new V(d_inner * d_state),
        y: new V(T * d_inner), delta: new V(T * d_inner), states: keepStates ? new V(T * d_inner * d_state) : null,
        mixer: new V(T * d_model),
      };
      rmsnormForward(c.xn, c.rstd, resid, p(n.norm), T, d_model);

      // in_proj rows are [x | z], [x] or H3's [q | k | v]; xb is x or k, z is z or q.
      matmulForward(c.xb, c.xn, p(n.in_proj, inRows.x, inRows.x + d_inner), T, d_model, d_inner);
      if (c.z && inRows.z !== null) matmulForward(c.z, c.xn, p(n.in_proj, inRows.z, inRows.z + d_inner), T, d_model, d_inner);
      if (c.v && inRows.v !== null) matmulForward(c.v, c.xn, p(n.in_proj, inRows.v, inRows.v + d_inner), T, d_model, d_inner);

      if (h3) {
        // k̄ = conv1d(k) without activation (the shift SSM), then u = k̄ ⊙ v. conv1dSiluForward writes k̄ to both outputs.
        if (c.pre) conv1dSiluForward(c.pre, c.u, c.xb, p(n.conv_w), p(n.conv_b), b, l, d_inner, d_conv, 'identity');
        siluGateForward(c.u, c.pre ?? c.xb, c.v!, T * d_inner, 'identity');
      } else if (c.pre) {
        conv1dSiluForward(c.pre, c.u, c.xb, p(n.conv_w), p(n.conv_b), b, l, d_inner, d_conv);
      } else {
        siluForward(c.u, c.xb, T * d_inner);
      }

      // x_proj rows are [Δ low rank | B | C], each present only when selective; dt_proj's bias is added inside the scan.
      if (c.dtLow && c.deltaRaw && cols.delta !== null) {
        matmulForward(c.dtLow, c.u, p(n.x_proj, cols.delta, cols.delta + dt_rank), T, d_inner, dt_rank);
        matmulForward(c.deltaRaw, c.dtLow, p(n.dt_w), T, dt_rank, d_inner);
      }
      if (c.Bm && cols.B !== null) matmulForward(c.Bm, c.u, p(n.x_proj, cols.B, cols.B + d_state), T, d_inner, d_state);
      if (c.Cm && cols.C !== null) matmulForward(c.Cm, c.u, p(n.x_proj, cols.C, cols.C + d_state), T, d_inner, d_state);

      const aLog = p(n.A_log);
      for (let j = 0; j < aLog.length; j++) c.A[j] = -Math.exp(aLog[j]);
      selectiveScanForward(c.y, null, c.delta, c.states, this.scanInputs(c, params, i), this.scanDims(b, l));

      matmulForward(c.mixer, c.y, p(n.out_proj), T, d_inner, d_model);
      const next = new V(T * d_model);
      for (let j = 0; j < next.length; j++) next[j] = resid[j] + c.mixer[j];
      resid = next;
      layers.push(c);
    }

    const hidden = new V(T * d_model);
    const rstdF = new V(T);
    rmsnormForward(hidden, rstdF, resid, p('norm_f.weight'), T, d_model);
    const logits = new V(T * vocab_size);
    matmulForward(logits, hidden, p('embedding.weight'), T, d_model, vocab_size);
    return { logits, layers, residOut: resid, hidden, rstdF, embedded };
  }

  private scanInputs(c: LayerCache, params: Vec, layer: number): ScanInputs {
    const n = layerParamNames(layer);
    const p = (name: string) => rows(this.layout, params, name);
    return {
      u: c.u, delta: c.deltaRaw, A: c.A, B: c.Bm ?? p(n.B), C: c.Cm ?? p(n.C), z: c.z,
      D: p(n.D), deltaBias: p(n.dt_b),
    };
  }

  /** Returns gradients of the loss in the flat layout, given ∂L/∂logits. */
  backward(params: Vec, ids: Int32Array, fwd: ForwardResult, dlogits: Vec, b: number, l: number): Vec {
    const { d_model, d_inner, d_state, dt_rank, d_conv, vocab_size } = this.cfg;
    const V = this.ctor;
    const T = b * l;
    const grads = new V(this.layout.totalSize);
    const p = (name: string, r0?: number, r1?: number) => rows(this.layout, params, name, r0, r1);
    const g = (name: string, r0?: number, r1?: number) => rows(this.layout, grads, name, r0, r1);
    const inRows = inProjRows(this.cfg);
    const cols = xProjColumns(this.cfg);
    const h3 = this.cfg.block === 'h3';

    // Tied head: logits = hidden · Eᵀ.
    const dHidden = new V(T * d_model);
    matmulBackward(dHidden, g('embedding.weight'), dlogits, fwd.hidden, p('embedding.weight'), T, d_model, vocab_size, false);
    const dResid = new V(T * d_model);
    rmsnormBackward(dResid, g('norm_f.weight'), dHidden, fwd.residOut, p('norm_f.weight'), fwd.rstdF, T, d_model);

    const dY = new V(T * d_inner);
    const dU = new V(T * d_inner);
    const dDeltaRaw = new V(T * d_inner);
    const dDtLow = new V(T * dt_rank);
    const dBm = new V(T * d_state);
    const dCm = new V(T * d_state);
    const dZ = new V(T * d_inner);
    const dV = new V(T * d_inner);
    const dPre = new V(T * d_inner);
    const dXb = new V(T * d_inner);
    const dXn = new V(T * d_model);
    const dA = new V(d_inner * d_state);

    for (let i = this.cfg.n_layer - 1; i >= 0; i--) {
      const n = layerParamNames(i);
      const c = fwd.layers[i];

      // The residual passes dResid through unchanged; the mixer adds its own part below.
      matmulBackward(dY, g(n.out_proj), dResid, c.y, p(n.out_proj), T, d_inner, d_model, false);

      dA.fill(0);
      selectiveScanBackward(
        {
          du: dU, dDelta: c.deltaRaw ? dDeltaRaw : null, dA, dB: c.Bm ? dBm : g(n.B), dC: c.Cm ? dCm : g(n.C),
          dD: g(n.D), dz: c.z ? dZ : null, dDeltaBias: g(n.dt_b),
        },
        dY, this.scanInputs(c, params, i), this.scanDims(b, l),
      );
      // A = −exp(A_log), so ∂A/∂A_log = A.
      const dALog = g(n.A_log);
      for (let j = 0; j < dA.length; j++) dALog[j] += dA[j] * c.A[j];

      if (c.dtLow && cols.delta !== null) {
        const r = [cols.delta, cols.delta + dt_rank] as const;
        matmulBackward(dDtLow, g(n.dt_w), dDeltaRaw, c.dtLow, p(n.dt_w), T, dt_rank, d_inner, false);
        matmulBackward(dU, g(n.x_proj, ...r), dDtLow, c.u, p(n.x_proj, ...r), T, d_inner, dt_rank, true);
      }
      if (c.Bm && cols.B !== null) {
        const r = [cols.B, cols.B + d_state] as const;
        matmulBackward(dU, g(n.x_proj, ...r), dBm, c.u, p(n.x_proj, ...r), T, d_inner, d_state, true);
      }
      if (c.Cm && cols.C !== null) {
        const r = [cols.C, cols.C + d_state] as const;
        matmulBackward(dU, g(n.x_proj, ...r), dCm, c.u, p(n.x_proj, ...r), T, d_inner, d_state, true);
      }

      if (h3) {
        // u = k̄ ⊙ v, then k̄ = conv1d(k) when the conv is on.
        siluGateBackward(c.pre ? dPre : dXb, dV, dU, c.pre ?? c.xb, c.v!, T * d_inner, 'identity');
        if (c.pre) {
          conv1dSiluBackward(dXb, g(n.conv_w), g(n.conv_b), dPre, c.pre, c.xb, p(n.conv_w), b, l, d_inner, d_conv, 'identity');
        }
      } else if (c.pre) {
        conv1dSiluBackward(dXb, g(n.conv_w), g(n.conv_b), dU, c.pre, c.xb, p(n.conv_w), b, l, d_inner, d_conv);
      } else {
        siluBackward(dXb, dU, c.xb, T * d_inner);
      }

      matmulBackward(dXn, g(n.in_proj, inRows.x, inRows.x + d_inner), dXb, c.xn, p(n.in_proj, inRows.x, inRows.x + d_inner),
        T, d_model, d_inner, false);
      if (c.z && inRows.z !== null) {
        const r = [inRows.z, inRows.z + d_inner] as const;
        matmulBackward(dXn, g(n.in_proj, ...r), dZ, c.xn, p(n.in_proj, ...r), T, d_model, d_inner, true);
      }
      if (c.v && inRows.v !== null) {
        const r = [inRows.v, inRows.v + d_inner] as const;
        matmulBackward(dXn, g(n.in_proj, ...r), dV, c.xn, p(n.in_proj, ...r), T, d_model, d_inner, true);
      }
      rmsnormBackward(dResid, g(n.norm), dXn, c.residIn, p(n.norm), c.rstd, T, d_model);
    }

    embeddingBackward(g('embedding.weight'), dResid, ids, T, d_model);
    return grads;
  }

  /**
   * Masked mean cross-entropy, its gradient and accuracy for one batch.
   * Positions with mask 0 count for neither loss nor accuracy.
   */
  lossAndGrad(params: Vec, ids: Int32Array, targets: Int32Array, mask: Float32Array, b: number, l: number) {
    const fwd = this.forward(params, ids, b, l);
    const r = maskedLoss(fwd.logits, targets, mask, b * l, this.cfg.vocab_size);
    const grads = this.backward(params, ids, fwd, r.dlogits, b, l);
    return { loss: r.loss, accuracy: r.accuracy, answerCount: r.answerCount, grads, fwd };
  }
}
