/**
 * The Transformer baseline as GPU buffers and command lists: the same op
 * sequence as TransformerModel in src/model/transformer.ts, dispatch by
 * dispatch. As in graph.ts for Mamba, buffers and dispatches are created once
 * for fixed sizes (b, l) and the command lists are re-encoded every step.
 *
 * Training runs the tiled attention kernels (attention.wgsl), which keep only
 * each row's log-sum-exp. Probes run the naive kernels (attention_naive.wgsl),
 * which store the (n_head, l, l) attention weights that a probe reads back.
 */
import type { ParamLayout } from '../../model/params';
import { transformerLayerNames, type ResolvedTransformerConfig } from '../../model/transformer';
import * as attn from './attentionKernels';
import type { Command, GpuContext, Tensor } from './context';
import {
  allocateLossAndOptimizer, lossCommands, optimizerCommands, type LossAndOptimizerBuffers,
} from './graph';
import * as k from './kernels';

/** Attention kernels of a forward pass: 'tiled' for training, 'naive' where the weights are read back. */
export type AttentionKind = 'tiled' | 'naive';

/** Activations of one block for a batch of b sequences of length l, all token-major. */
export interface TransformerBlockBuffers {
  attnRstd: GPUBuffer; // (b·l)
  attnIn: GPUBuffer; // (b·l, d_model), attn_norm output
  q: GPUBuffer; // (b·l, d_model), after RoPE when positions are rotary
  k: GPUBuffer; // (b·l, d_model), after RoPE when positions are rotary
  v: GPUBuffer; // (b·l, d_model)
  attnOut: GPUBuffer; // (b·l, d_model), attention output before o_proj
  lse: GPUBuffer; // (b, n_head, l)
  /** Attention weights (b, n_head, l, l) of the naive kernels; null with the tiled kernels. */
  probs: GPUBuffer | null;
  residMid: GPUBuffer; // (b·l, d_model), the residual stream after attention
  mlpRstd: GPUBuffer; // (b·l)
  mlpIn: GPUBuffer; // (b·l, d_model), mlp_norm output
  gate: GPUBuffer; // (b·l, d_ff)
  up: GPUBuffer; // (b·l, d_ff)
  act: GPUBuffer; // (b·l, d_ff), SiLU(gate) ⊙ up
  residOut: GPUBuffer; // (b·l, d_model), the residual stream after this block
}

export interface TransformerForwardBuffers {
  b: number;
  l: number;
  attention: AttentionKind;
  ids: GPUBuffer; // (b·l) i32
  /** Token embeddings, plus position embeddings when positions are absolute. */
  embedded: GPUBuffer; // (b·l, d_model)
  blocks: TransformerBlockBuffers[];
  hidden: GPUBuffer; // (b·l, d_model), norm_f output
  rstdF: GPUBuffer; // (b·l)
  logits: GPUBuffer; // (b·l, vocab)
}

export function allocateTransformerForward(
  ctx: GpuContext, cfg: ResolvedTransformerConfig, b: number, l: number, owner: string, attention: AttentionKind,
): TransformerForwardBuffers {
  const T = b * l;
  const { d_model: d, d_ff: f, n_head: nh, vocab_size: vocab } = cfg;
  const buf = (role: string, floats: number) => ctx.createStorage(`${owner}: ${role}`, floats);
  const blocks: TransformerBlockBuffers[] = [];
  for (let i = 0; i < cfg.n_layer; i++) {
    const p = `layers.${i}`;
    blocks.push({
      attnRstd: buf(`${p} attn_norm rstd`, T),
      attnIn: buf(`${p} attn_norm out`, T * d),
      q: buf(`${p} q`, T * d),
      k: buf(`${p} k`, T * d),
      v: buf(`${p} v`, T * d),
      attnOut: buf(`${p} attention out`, T * d),
      lse: buf(`${p} lse`, b * nh * l),
      probs: attention === 'naive' ? buf(`${p} attention weights`, attn.attentionNaiveProbsFloats(b, l, nh)) : null,
      residMid: buf(`${p} residual after attention`, T * d),
      mlpRstd: buf(`${p} mlp_norm rstd`, T),
      mlpIn: buf(`${p} mlp_norm out`, T * d),
      gate: buf(`${p} gate`, T * f),
      up: buf(`${p} up`, T * f),
      act: buf(`${p} swiglu out`, T * f),
      residOut: buf(`${p} residual out`, T * d),
    });
  }
  return {
    b, l, attention,
    ids: buf('ids', T),
    embedded: buf('embedded', T * d),
    blocks,
    hidden: buf('norm_f out', T * d),
    rstdF: buf('norm_f rstd', T),
    logits: buf('logits', T * vocab),
  };
}

/** Resolves parameter names to tensors of one flat buffer (parameters or gradients). */
function tensorsOf(layout: ParamLayout, buffer: GPUBuffer) {
  return (name: string): Tensor => {
    const entry = layout.byName.get(name);
    if (!entry) throw new Error(`parameter ${name} not found in the layout`);
    return { buffer, offset: entry.offset };
  };
}

function probsBuffer(block: TransformerBlockBuffers, i: number): GPUBuffer {
  if (!block.probs) throw new Error(`layers.${i} has no attention weights buffer: allocate the forward buffers for naive attention`);
  return block.probs;
}

/** Commands of the forward pass from fb.ids to fb.logits. */
export async function transformerForwardCommands(
  ctx: GpuContext, cfg: ResolvedTransformerConfig, layout: ParamLayout, params: GPUBuffer, fb: TransformerForwardBuffers,
  owner: string,
): Promise<Command[]> {
  const { d_model: d, d_ff: f, n_head: nh, head_dim: hd, vocab_size: vocab } = cfg;
  const { b, l } = fb;
  const T = b * l;
  const P = tensorsOf(layout, params);
  const commands: Command[] = [];

  commands.push(await k.embeddingForward(ctx, fb.embedded, fb.ids, P('embedding.weight'), T, d, { label: `${owner} embedding` }));
  if (cfg.positions === 'absolute') {
    commands.push(await attn.positionEmbeddingForward(ctx, fb.embedded, P('pos_embedding.weight'), b, l, d,
      { label: `${owner} pos_embedding` }));
  }

  let resid = fb.embedded;
  for (let i = 0; i < cfg.n_layer; i++) {
    const n = transformerLayerNames(i);
    const B = fb.blocks[i];
    const site = (what: string) => ({ label: `${owner} layers.${i} ${what}` });

    // Attention branch: resid_mid = resid + o_proj(Attn(attn_norm(resid))).
    commands.push(await k.rmsnormForward(ctx, B.attnIn, B.attnRstd, resid, P(n.attnNorm), T, d, site('attn_norm')));
    commands.push(await k.matmulForward(ctx, B.q, B.attnIn, P(n.q), T, d, d, site('q_proj')));
    commands.push(await k.matmulForward(ctx, B.k, B.attnIn, P(n.k), T, d, d, site('k_proj')));
    commands.push(await k.matmulForward(ctx, B.v, B.attnIn, P(n.v), T, d, d, site('v_proj')));
    if (cfg.positions === 'rope') {
      commands.push(await attn.ropeForward(ctx, B.q, B.q, b, l, nh, hd, false, site('rope q')));
      commands.push(await attn.ropeForward(ctx, B.k, B.k, b, l, nh, hd, false, site('rope k')));
    }
    if (fb.attention === 'naive') {
      commands.push(...(await attn.attentionNaiveForward(ctx, B.attnOut, B.lse, probsBuffer(B, i), B.q, B.k, B.v, b, l, nh, hd,
        site('attention'))));
    } else {
      commands.push(await attn.attentionForward(ctx, B.attnOut, B.lse, B.q, B.k, B.v, b, l, nh, hd, site('attention')));
    }
    commands.push({ kind: 'copy', source: resid, destination: B.residMid, size: T * d * 4 });
    commands.push(await k.matmulForward(ctx, B.residMid, B.attnOut, P(n.o), T, d, d, { ...site('o_proj'), accumulate: true }));

    // MLP branch: resid_out = resid_mid + down_proj(SiLU(gate_proj(x)) ⊙ up_proj(x)), x = mlp_norm(resid_mid).
    commands.push(await k.rmsnormForward(ctx, B.mlpIn, B.mlpRstd, B.residMid, P(n.mlpNorm), T, d, site('mlp_norm')));
    commands.push(await k.matmulForward(ctx, B.gate, B.mlpIn, P(n.gate), T, d, f, site('gate_proj')));
    commands.push(await k.matmulForward(ctx, B.up, B.mlpIn, P(n.up), T, d, f, site('up_proj')));
    commands.push(await attn.swigluForward(ctx, B.act, B.gate, B.up, T * f, site('swiglu')));
    commands.push({ kind: 'copy', source: B.residMid, destination: B.residOut, size: T * d * 4 });
    commands.push(await k.matmulForward(ctx, B.residOut, B.act, P(n.down), T, f, d, { ...site('down_proj'), accumulate: true }));
    resid = B.residOut;
  }

  commands.push(await k.rmsnormForward(ctx, fb.hidden, fb.rstdF, resid, P('norm_f.weight'), T, d, { label: `${owner} norm_f` }));
  // The head is tied to the embedding: logits = hidden · Eᵀ.
  commands.push(await k.matmulForward(ctx, fb.logits, fb.hidden, P('embedding.weight'), T, d, vocab, { label: `${owner} head` }));
  return commands;
}

/** Buffers that exist only for training: batch targets, gradients, optimizer state and backward temporaries. */
export interface TransformerTrainBuffers extends LossAndOptimizerBuffers {
  dHidden: GPUBuffer; // (b·l, d_model)
  /** ∂L/∂resid at the point of the residual stream that the backward pass has reached. */
  dResid: GPUBuffer; // (b·l, d_model)
  /** Gradient of a norm's output: of mlp_norm, then of attn_norm. */
  dIn: GPUBuffer; // (b·l, d_model)
  dAct: GPUBuffer; // (b·l, d_ff)
  dGate: GPUBuffer; // (b·l, d_ff)
  dUp: GPUBuffer; // (b·l, d_ff)
  dAttnOut: GPUBuffer; // (b·l, d_model)
  dq: GPUBuffer; // (b·l, d_model)
  dk: GPUBuffer; // (b·l, d_model)
  dv: GPUBuffer; // (b·l, d_model)
}

export function allocateTransformerTraining(
  ctx: GpuContext, cfg: ResolvedTransformerConfig, layout: ParamLayout, b: number, l: number,
): TransformerTrainBuffers {
  const T = b * l;
  const { d_model: d, d_ff: f, vocab_size: vocab } = cfg;
  const buf = (role: string, floats: number) => ctx.createStorage(`train: ${role}`, floats);

  return {
    ...allocateLossAndOptimizer(ctx, layout, T, vocab),
    dHidden: buf('dHidden', T * d),
    dResid: buf('dResid', T * d),
    dIn: buf('dIn', T * d),
    dAct: buf('dAct', T * f),
    dGate: buf('dGate', T * f),
    dUp: buf('dUp', T * f),
    dAttnOut: buf('dAttnOut', T * d),
    dq: buf('dq', T * d),
    dk: buf('dk', T * d),
    dv: buf('dv', T * d),
  };
}

export interface TransformerTrainOptions {
  weightDecay: number;
  gradClip: number;
}

/**
 * Commands of one training step after the forward pass: loss and metrics,
 * backward into tb.grads (cleared first), the global-norm clip and AdamW.
 */
export async function transformerTrainCommands(
  ctx: GpuContext, cfg: ResolvedTransformerConfig, layout: ParamLayout, params: GPUBuffer, fb: TransformerForwardBuffers,
  tb: TransformerTrainBuffers, options: TransformerTrainOptions,
): Promise<Command[]> {
  const { d_model: d, d_ff: f, n_head: nh, head_dim: hd, vocab_size: vocab } = cfg;
  const { b, l } = fb;
  const T = b * l;
  if (fb.attention !== 'tiled') throw new Error('training reads the tiled attention forward: allocate its buffers for tiled attention');
  const P = tensorsOf(layout, params);
  const G = tensorsOf(layout, tb.grads);
  const commands = await lossCommands(ctx, fb.logits, tb, T, vocab);

  // Tied head, then norm_f. From here down through the blocks, dResid contains ∂L/∂resid.
  commands.push(...(await k.matmulBackward(ctx, tb.dHidden, G('embedding.weight'), tb.dlogits, fb.hidden, P('embedding.weight'),
    T, d, vocab, false, { label: 'train head' })));
  commands.push({ kind: 'clear', buffer: tb.dResid });
  const lastResid = fb.blocks.length > 0 ? fb.blocks[fb.blocks.length - 1].residOut : fb.embedded;
  commands.push(...(await k.rmsnormBackward(ctx, tb.dResid, G('norm_f.weight'), tb.dHidden, lastResid, P('norm_f.weight'),
    fb.rstdF, T, d, { label: 'train norm_f' })));

  for (let i = cfg.n_layer - 1; i >= 0; i--) {
    const n = transformerLayerNames(i);
    const B = fb.blocks[i];
    const residIn = i > 0 ? fb.blocks[i - 1].residOut : fb.embedded;
    const site = (what: string) => ({ label: `train layers.${i} ${what}` });

    // MLP branch. The residual passes dResid through unchanged, and mlp_norm's backward adds the branch's part.
    commands.push(...(await k.matmulBackward(ctx, tb.dAct, G(n.down), tb.dResid, B.act, P(n.down), T, f, d, false,
      site('down_proj'))));
    commands.push(await attn.swigluBackward(ctx, tb.dGate, tb.dUp, tb.dAct, B.gate, B.up, T * f, site('swiglu')));
    commands.push(...(await k.matmulBackward(ctx, tb.dIn, G(n.gate), tb.dGate, B.mlpIn, P(n.gate), T, d, f, false,
      site('gate_proj'))));
    commands.push(...(await k.matmulBackward(ctx, tb.dIn, G(n.up), tb.dUp, B.mlpIn, P(n.up), T, d, f, true, site('up_proj'))));
    commands.push(...(await k.rmsnormBackward(ctx, tb.dResid, G(n.mlpNorm), tb.dIn, B.residMid, P(n.mlpNorm), B.mlpRstd, T, d,
      site('mlp_norm'))));

    // Attention branch. dq and dk come out for the rotated q and k, so the inverse rotation takes them back.
    commands.push(...(await k.matmulBackward(ctx, tb.dAttnOut, G(n.o), tb.dResid, B.attnOut, P(n.o), T, d, d, false,
      site('o_proj'))));
    commands.push(...(await attn.attentionBackward(ctx, tb.dq, tb.dk, tb.dv, tb.dAttnOut, B.q, B.k, B.v, B.attnOut, B.lse,
      b, l, nh, hd, site('attention'))));
    if (cfg.positions === 'rope') {
      commands.push(await attn.ropeForward(ctx, tb.dq, tb.dq, b, l, nh, hd, true, site('rope dq')));
      commands.push(await attn.ropeForward(ctx, tb.dk, tb.dk, b, l, nh, hd, true, site('rope dk')));
    }
    commands.push(...(await k.matmulBackward(ctx, tb.dIn, G(n.q), tb.dq, B.attnIn, P(n.q), T, d, d, false, site('q_proj'))));
    commands.push(...(await k.matmulBackward(ctx, tb.dIn, G(n.k), tb.dk, B.attnIn, P(n.k), T, d, d, true, site('k_proj'))));
    commands.push(...(await k.matmulBackward(ctx, tb.dIn, G(n.v), tb.dv, B.attnIn, P(n.v), T, d, d, true, site('v_proj'))));
    commands.push(...(await k.rmsnormBackward(ctx, tb.dResid, G(n.attnNorm), tb.dIn, residIn, P(n.attnNorm), B.attnRstd, T, d,
      site('attn_norm'))));
  }

  commands.push(await k.embeddingBackward(ctx, G('embedding.weight'), tb.dResid, fb.ids, T, d, vocab, { label: 'train embedding' }));
  if (cfg.positions === 'absolute') {
    commands.push(await attn.positionEmbeddingBackward(ctx, G('pos_embedding.weight'), tb.dResid, b, l, d,
      { label: 'train pos_embedding' }));
  }

  commands.push(...(await optimizerCommands(ctx, layout, params, tb, options)));
  return commands;
}
