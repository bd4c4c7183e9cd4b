/**
 * Recurrent inference for Mamba: one token at a time with a constant-size state
 * per layer, the last d_conv inputs of the convolution and h (d_inner, d_state).
 * Memory and time per token do not grow with the context, unlike attention's KV cache.
 * Every ablation of MambaConfig runs here as in MambaModel.forward (see the
 * equations at the top of mamba.ts); a layer without the conv keeps only h.
 */
import type { MambaModel } from './mamba';
import { matmulForward, rmsnormForward, silu, softplus, type Vec } from './ops';
import { inProjRows, layerParamNames, xProjColumns } from './params';

interface LayerState {
  /** (b, d_inner, d_conv): the convolution's input window, oldest first; empty without the conv. */
  conv: Float64Array;
  /** (b, d_inner, d_state). */
  h: Float64Array;
}

export class MambaDecoder {
  private layers: LayerState[] = [];
  private position = 0;

  constructor(readonly model: MambaModel, readonly params: Vec, readonly batch: number) {
    this.reset();
  }

  /** Floats of recurrent state, the same at every position. */
  get stateSize(): number {
    const { d_inner, n_layer } = this.model.cfg;
    return n_layer * this.batch * d_inner * (this.convWidth + this.model.cfg.d_state);
  }

  /** Inputs the convolution window keeps per channel: d_conv, or 0 without the conv. */
  private get convWidth(): number {
    return this.model.cfg.use_conv ? this.model.cfg.d_conv : 0;
  }

  get length(): number {
    return this.position;
  }

  reset(): void {
    const { d_inner, d_state, n_layer } = this.model.cfg;
    this.layers = Array.from({ length: n_layer }, () => ({
      conv: new Float64Array(this.batch * d_inner * this.convWidth),
      h: new Float64Array(this.batch * d_inner * d_state),
    }));
    this.position = 0;
  }

  private tensor(name: string, rowStart = 0, rowEnd?: number): Vec {
    const e = this.model.layout.byName.get(name);
    if (!e) throw new Error(`parameter ${name} not found in the layout`);
    const cols = e.shape.length > 1 ? e.size / e.shape[0] : 1;
    return this.params.subarray(e.offset + rowStart * cols, e.offset + (rowEnd ?? e.shape[0]) * cols);
  }

  /** Consumes one token per batch row and returns the next-token logits (b, vocab). */
  step(tokens: Int32Array): Float64Array {
    const cfg = this.model.cfg;
    const { d_model, d_inner, d_state, d_conv, dt_rank, vocab_size } = cfg;
    const b = this.batch;
    if (tokens.length !== b) throw new Error(`step expects ${b} tokens (one per batch row), got ${tokens.length}`);
    const p = (name: string, r0?: number, r1?: number) => this.tensor(name, r0, r1);
    const inRows = inProjRows(cfg);
    const cols = xProjColumns(cfg);
    const h3 = cfg.block === 'h3';

    const emb = p('embedding.weight');
    const resid = new Float64Array(b * d_model);
    for (let r = 0; r < b; r++) for (let j = 0; j < d_model; j++) resid[r * d_model + j] = emb[tokens[r] * d_model + j];

    const xn = new Float64Array(b * d_model);
    const rstd = new Float64Array(b);
    const xb = new Float64Array(b * d_inner);
    const z = new Float64Array(b * d_inner);
    const v = new Float64Array(b * d_inner);
    const u = new Float64Array(b * d_inner);
    const dtLow = new Float64Array(b * dt_rank);
    const Bm = new Float64Array(b * d_state);
    const Cm = new Float64Array(b * d_state);
    const deltaRaw = new Float64Array(b * d_inner);
    const y = new Float64Array(b * d_inner);
    const mixer = new Float64Array(b * d_model);

    for (let i = 0; i < this.layers.length; i++) {
      const n = layerParamNames(i);
      const st = this.layers[i];
      rmsnormForward(xn, rstd, resid, p(n.norm), b, d_model);
      matmulForward(xb, xn, p(n.in_proj, inRows.x, inRows.x + d_inner), b, d_model, d_inner);
      if (inRows.z !== null) matmulForward(z, xn, p(n.in_proj, inRows.z, inRows.z + d_inner), b, d_model, d_inner);
      if (inRows.v !== null) matmulForward(v, xn, p(n.in_proj, inRows.v, inRows.v + d_inner), b, d_model, d_inner);

      // Shift the window left by one and append the new input; then the causal conv is a dot product.
      const w = cfg.use_conv ? p(n.conv_w) : null;
      const bias = cfg.use_conv ? p(n.conv_b) : null;
      for (let r = 0; r < b; r++) {
        for (let c = 0; c < d_inner; c++) {
          const k = r * d_inner + c;
          let pre = xb[k];
          if (w && bias) {
            const o = k * d_conv;
            st.conv.copyWithin(o, o + 1, o + d_conv);
            st.conv[o + d_conv - 1] = xb[k];
            pre = bias[c];
            for (let j = 0; j < d_conv; j++) pre += w[c * d_conv + j] * st.conv[o + j];
          }
          // H3: u = k̄ ⊙ v; Mamba: u = SiLU(conv output).
          u[k] = h3 ? pre * v[k] : silu(pre);
        }
      }

      if (cols.delta !== null) {
        matmulForward(dtLow, u, p(n.x_proj, cols.delta, cols.delta + dt_rank), b, d_inner, dt_rank);
        matmulForward(deltaRaw, dtLow, p(n.dt_w), b, dt_rank, d_inner);
      }
      if (cols.B !== null) matmulForward(Bm, u, p(n.x_proj, cols.B, cols.B + d_state), b, d_inner, d_state);
      if (cols.C !== null) matmulForward(Cm, u, p(n.x_proj, cols.C, cols.C + d_state), b, d_inner, d_state);

      const aLog = p(n.A_log);
      const D = p(n.D);
      const dtBias = p(n.dt_b);
      const fixedB = cols.B === null ? p(n.B) : null;
      const fixedC = cols.C === null ? p(n.C) : null;
      for (let r = 0; r < b; r++) {
        for (let c = 0; c < d_inner; c++) {
          const o = r * d_inner + c;
          const raw = (cols.delta !== null ? deltaRaw[o] : 0) + dtBias[c];
          const dt = cfg.delta_softplus ? softplus(raw) : raw;
          let acc = 0;
          for (let s = 0; s < d_state; s++) {
            const hi = o * d_state + s;
            const bv = fixedB ? fixedB[c * d_state + s] : Bm[r * d_state + s];
            const cv = fixedC ? fixedC[c * d_state + s] : Cm[r * d_state + s];
            st.h[hi] = Math.exp(-dt * Math.exp(aLog[c * d_state + s])) * st.h[hi] + dt * bv * u[o];
            acc += st.h[hi] * cv;
          }
          const yScan = acc + D[c] * u[o];
          if (cfg.block === 'mamba') y[o] = yScan * silu(z[o]);
          else if (h3) y[o] = yScan * z[o];
          else y[o] = yScan;
        }
      }
      matmulForward(mixer, y, p(n.out_proj), b, d_inner, d_model);
      for (let j = 0; j < resid.length; j++) resid[j] += mixer[j];
    }

    const hidden = new Float64Array(b * d_model);
    rmsnormForward(hidden, rstd, resid, p('norm_f.weight'), b, d_model);
    const logits = new Float64Array(b * vocab_size);
    matmulForward(logits, hidden, p('embedding.weight'), b, d_model, vocab_size);
    this.position++;
    return logits;
  }
}
