/**
 * CPU reference of the Mamba language model (Gu and Dao, 2023; layout and
 * parameter names of state-spaces/mamba): embedding, n_layer residual blocks
 * x + Mixer(RMSNorm(x)), a final RMSNorm and a head tied to the embedding.
 * Forward keeps the activations that backward needs; backward returns gradients
 * in the flat parameter layout. Every step is an op from ops.ts, in the order the
 * WebGPU engine dispatches its kernels.
 */
import type { ResolvedConfig } from './config';
import { maskedLoss } from './loss';
import { layerParamNames, type ParamLayout } from './params';
import {
  conv1dSiluBackward, conv1dSiluForward, embeddingBackward, embeddingForward,
  matmulBackward, matmulForward, rmsnormBackward, rmsnormForward, selectiveScanBackward, selectiveScanForward,
  type ScanDims, type ScanInputs, type Vec,
} from './ops';

type VecCtor = Float32ArrayConstructor | Float64ArrayConstructor;

/** Activations of one layer kept for backward, all (b·l, ·) token-major. */
interface LayerCache {
  residIn: Vec; // (b·l, d_model), the block's input
  rstd: Vec; // (b·l)
  xn: Vec; // (b·l, d_model), RMSNorm output
  xb: Vec; // (b·l, d_inner), x branch of in_proj
  z: Vec; // (b·l, d_inner), gate branch of in_proj
  pre: Vec; // (b·l, d_inner), conv output before SiLU
  u: Vec; // (b·l, d_inner), scan input
  dtLow: Vec; // (b·l, dt_rank)
  Bm: Vec; // (b·l, d_state)
  Cm: Vec; // (b·l, d_state)
  deltaRaw: Vec; // (b·l, d_inner), before bias and softplus
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
    return { b, l, d: this.cfg.d_inner, n: this.cfg.d_state, variableB: true, variableC: true, softplus: true };
  }

  /** Runs the model on ids (b, l); keepStates stores every h_t for probes. */
  forward(params: Vec, ids: Int32Array, b: number, l: number, keepStates = false): ForwardResult {
    const { d_model, d_inner, d_state, dt_rank, d_conv, vocab_size } = this.cfg;
    const V = this.ctor;
    const T = b * l;
    const p = (name: string, r0?: number, r1?: number) => rows(this.layout, params, name, r0, r1);

    const embedded = new V(T * d_model);
    embeddingForward(embedded, ids, p('embedding.weight'), T, d_model);

    let resid: Vec = embedded;
    const layers: LayerCache[] = [];
    for (let i = 0; i < this.cfg.n_layer; i++) {
      const n = layerParamNames(i);
      const c: LayerCache = {
        residIn: resid, rstd: new V(T), xn: new V(T * d_model), xb: new V(T * d_inner), z: new V(T * d_inner),
        pre: new V(T * d_inner), u: new V(T * d_inner), dtLow: new V(T * dt_rank), Bm: new V(T * d_state),
        Cm: new V(T * d_state), deltaRaw: new V(T * d_inner), A: new V(d_inner * d_state), y: new V(T * d_inner),
        delta: new V(T * d_inner), states: keepStates ? new V(T * d_inner * d_state) : null, mixer: new V(T * d_model),
      };
      rmsnormForward(c.xn, c.rstd, resid, p(n.norm), T, d_model);

      // in_proj rows are [x branch | z gate].
      matmulForward(c.xb, c.xn, p(n.in_proj, 0, d_inner), T, d_model, d_inner);
      matmulForward(c.z, c.xn, p(n.in_proj, d_inner, 2 * d_inner), T, d_model, d_inner);
      conv1dSiluForward(c.pre, c.u, c.xb, p(n.conv_w), p(n.conv_b), b, l, d_inner, d_conv);

      // x_proj rows are [Δ low rank | B | C]; dt_proj's bias is added inside the scan.
      matmulForward(c.dtLow, c.u, p(n.x_proj, 0, dt_rank), T, d_inner, dt_rank);
      matmulForward(c.Bm, c.u, p(n.x_proj, dt_rank, dt_rank + d_state), T, d_inner, d_state);
      matmulForward(c.Cm, c.u, p(n.x_proj, dt_rank + d_state, dt_rank + 2 * d_state), T, d_inner, d_state);
      matmulForward(c.deltaRaw, c.dtLow, p(n.dt_w), T, dt_rank, d_inner);

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
    return {
      u: c.u, delta: c.deltaRaw, A: c.A, B: c.Bm, C: c.Cm, z: c.z,
      D: rows(this.layout, params, n.D), deltaBias: rows(this.layout, params, n.dt_b),
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
        { du: dU, dDelta: dDeltaRaw, dA, dB: dBm, dC: dCm, dD: g(n.D), dz: dZ, dDeltaBias: g(n.dt_b) },
        dY, this.scanInputs(c, params, i), this.scanDims(b, l),
      );
      // A = −exp(A_log), so ∂A/∂A_log = A.
      const dALog = g(n.A_log);
      for (let j = 0; j < dA.length; j++) dALog[j] += dA[j] * c.A[j];

      matmulBackward(dDtLow, g(n.dt_w), dDeltaRaw, c.dtLow, p(n.dt_w), T, dt_rank, d_inner, false);
      matmulBackward(dU, g(n.x_proj, 0, dt_rank), dDtLow, c.u, p(n.x_proj, 0, dt_rank), T, d_inner, dt_rank, true);
      matmulBackward(dU, g(n.x_proj, dt_rank, dt_rank + d_state), dBm, c.u, p(n.x_proj, dt_rank, dt_rank + d_state), T, d_inner, d_state, true);
      matmulBackward(
        dU, g(n.x_proj, dt_rank + d_state, dt_rank + 2 * d_state), dCm, c.u,
        p(n.x_proj, dt_rank + d_state, dt_rank + 2 * d_state), T, d_inner, d_state, true,
      );

      conv1dSiluBackward(dXb, g(n.conv_w), g(n.conv_b), dU, c.pre, c.xb, p(n.conv_w), b, l, d_inner, d_conv);
      matmulBackward(dXn, g(n.in_proj, 0, d_inner), dXb, c.xn, p(n.in_proj, 0, d_inner), T, d_model, d_inner, false);
      matmulBackward(dXn, g(n.in_proj, d_inner, 2 * d_inner), dZ, c.xn, p(n.in_proj, d_inner, 2 * d_inner), T, d_model, d_inner, true);
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
