import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCommands, readFloats, type Command, type Tensor } from '../engine/webgpu/context';
import { writeDecodePosition } from '../engine/webgpu/decodeKernels';
import * as k from '../engine/webgpu/kernels';
import { swigluForward } from '../engine/webgpu/attentionKernels';
import { expectClose, openGpu, type GpuFixture } from '../engine/webgpu/testing';
import { resolveConfig } from '../model/config';
import { TransformerDecoder } from '../model/kvcache';
import { MambaModel } from '../model/mamba';
import { buildLayout, initParams, type ParamLayout } from '../model/params';
import { Rng } from '../model/random';
import { MambaDecoder } from '../model/recurrent';
import {
  buildTransformerLayout, initTransformerParams, resolveTransformerConfig, TransformerModel, transformerLayerNames,
} from '../model/transformer';
import {
  attentionDecodeCacheBytes, buildAttentionDecode, buildMambaDecode, mambaDecodeStateBytes, planAttentionDecode, planMambaDecode,
} from './decodeBlocks';

let gpu: GpuFixture;
beforeAll(async () => {
  gpu = await openGpu();
});
afterAll(() => gpu?.close());

/** Adds noise to initialised parameters so that no weight keeps a special value such as 1 or 0. */
function perturb(params: Float32Array, seed: number): Float32Array {
  const rng = new Rng(seed);
  return params.map((v) => v + 0.1 * rng.normal());
}

function tensors(layout: ParamLayout, buffer: GPUBuffer) {
  return (name: string): Tensor => ({ buffer, offset: layout.byName.get(name)!.offset });
}

/** Runs one step: writes the tokens, submits the commands and reads the logits (b, vocab). */
async function runStep(ids: GPUBuffer, tokens: Int32Array, commands: Command[], logits: GPUBuffer, count: number) {
  gpu.device.queue.writeBuffer(ids, 0, tokens);
  const encoder = gpu.device.createCommandEncoder({ label: 'test: decode step' });
  encodeCommands(encoder, commands, 'test: decode pass');
  gpu.device.queue.submit([encoder.finish()]);
  return readFloats(gpu.device, logits, count);
}

describe('decoding blocks', () => {
  it('Mamba decode step equals MambaDecoder', async () => {
    const { ctx } = gpu;
    const cfg = resolveConfig({ vocab_size: 7, d_model: 8, n_layer: 1, d_state: 3, expand: 2, d_conv: 4, dt_rank: 'auto' });
    const layout = buildLayout(cfg);
    const params = perturb(initParams(cfg, layout, 3), 4);
    const b = 2;
    const paramBuffer = ctx.upload('test: mamba params', params);
    const P = tensors(layout, paramBuffer);
    const ids = ctx.createStorage('test: ids', b);
    const hidden = ctx.createStorage('test: hidden', b * cfg.d_model);
    const rstd = ctx.createStorage('test: rstd', b);
    const logits = ctx.createStorage('test: logits', b * cfg.vocab_size);

    const block = await buildMambaDecode(ctx, cfg, layout, paramBuffer, b, 'test mamba decode');
    const commands: Command[] = [
      await k.embeddingForward(ctx, block.x, ids, P('embedding.weight'), b, cfg.d_model),
      ...block.step,
      await k.rmsnormForward(ctx, hidden, rstd, block.out, P('norm_f.weight'), b, cfg.d_model),
      await k.matmulForward(ctx, logits, hidden, P('embedding.weight'), b, cfg.d_model, cfg.vocab_size),
    ];

    const decoder = new MambaDecoder(new MambaModel(cfg, layout), params, b);
    const rng = new Rng(9);
    for (let t = 0; t < 6; t++) {
      const tokens = Int32Array.from({ length: b }, () => rng.int(cfg.vocab_size));
      const got = await runStep(ids, tokens, commands, logits, b * cfg.vocab_size);
      expectClose(`logits at step ${t}`, got, decoder.step(tokens));
    }
    // The state is the convolution window and h, whatever the position.
    expect(mambaDecodeStateBytes(cfg, b)).toBe(4 * decoder.stateSize);
    expect(block.state['conv state'].size + block.state.h.size).toBe(mambaDecodeStateBytes(cfg, b));
    expect(planMambaDecode(cfg, b).h).toBe(b * cfg.d_inner * cfg.d_state);
  });

  it('attention decode step equals TransformerDecoder', async () => {
    const { ctx } = gpu;
    const cfg = resolveTransformerConfig({ architecture: 'transformer', vocab_size: 7, d_model: 8, n_layer: 1, n_head: 2, d_ff: 'auto', positions: 'rope', max_len: 9 });
    const layout = buildTransformerLayout(cfg);
    const params = perturb(initTransformerParams(cfg, layout, 5), 6);
    const [b, capacity] = [2, 9];
    const { d_model: dm, d_ff: f, vocab_size: vocab } = cfg;
    const paramBuffer = ctx.upload('test: transformer params', params);
    const P = tensors(layout, paramBuffer);
    const names = transformerLayerNames(0);
    const buf = (role: string, floats: number) => ctx.createStorage(`test: ${role}`, floats);
    const ids = buf('ids', b);
    const [xn, rstd, gate, up, act, resid, hidden, logits] = [
      buf('mlp xn', b * dm), buf('rstd', b), buf('gate', b * f), buf('up', b * f), buf('act', b * f), buf('resid', b * dm),
      buf('hidden', b * dm), buf('logits', b * vocab),
    ];

    const block = await buildAttentionDecode(ctx, layout, paramBuffer, dm, cfg.n_head, b, capacity, 'test attention decode');
    // The block covers attention; the test adds the SwiGLU MLP, the final norm and the tied head of the Transformer.
    const commands: Command[] = [
      await k.embeddingForward(ctx, block.x, ids, P('embedding.weight'), b, dm),
      ...block.step,
      await k.rmsnormForward(ctx, xn, rstd, block.out, P(names.mlpNorm), b, dm),
      await k.matmulForward(ctx, gate, xn, P(names.gate), b, dm, f),
      await k.matmulForward(ctx, up, xn, P(names.up), b, dm, f),
      await swigluForward(ctx, act, gate, up, b * f),
      { kind: 'copy', source: block.out, destination: resid, size: b * dm * 4 },
      await k.matmulForward(ctx, resid, act, P(names.down), b, f, dm, { accumulate: true }),
      await k.rmsnormForward(ctx, hidden, rstd, resid, P('norm_f.weight'), b, dm),
      await k.matmulForward(ctx, logits, hidden, P('embedding.weight'), b, dm, vocab),
    ];

    const decoder = new TransformerDecoder(new TransformerModel(cfg, layout, 'float64'), Float64Array.from(params), b, capacity);
    const rng = new Rng(2);
    for (let t = 0; t < capacity; t++) {
      const tokens = Int32Array.from({ length: b }, () => rng.int(vocab));
      writeDecodePosition(gpu.device, block.position, t);
      const got = await runStep(ids, tokens, commands, logits, b * vocab);
      expectClose(`logits at position ${t}`, got, decoder.step(tokens));
      expect(attentionDecodeCacheBytes(dm, b, t + 1)).toBe(4 * decoder.cacheSize);
    }
    expect(planAttentionDecode(dm, cfg.n_head, b, capacity)['k cache']).toBe(b * capacity * dm);
  });
});
