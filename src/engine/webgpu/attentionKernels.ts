/**
 * Typed wrappers of the Transformer baseline's kernels: rotary embedding
 * (rope.wgsl) and SwiGLU (swiglu.wgsl). As in kernels.ts, each
 * wrapper has the name and argument order of its CPU reference in
 * src/model/attentionOps.ts, preceded by the GpuContext, and returns dispatches
 * that can be encoded every step without new allocations.
 */
import { ROPE_BASE } from '../../model/attentionOps';
import { grid1d, type Dispatch, type GpuContext, type KernelName, type UniformField } from './context';
import { WORKGROUP_SIZE, type CallOptions } from './kernels';

function siteLabel(kernel: string, options: CallOptions | undefined, role: string): string {
  return options?.label ? `${kernel}: ${options.label} ${role}` : `${kernel}: ${role}`;
}

/** Builds one dispatch like the helper of the same name in kernels.ts, which that module keeps private. */
async function makeDispatch(
  ctx: GpuContext, name: KernelName, options: CallOptions | undefined, uniforms: UniformField[],
  buffers: GPUBuffer[], workgroups: [number, number, number], constants: Record<string, number> = {},
): Promise<Dispatch> {
  const kernel = await ctx.kernel(name, constants);
  const uniform = ctx.uniform(siteLabel(name, options, 'sizes'), uniforms);
  return {
    kind: 'dispatch',
    label: siteLabel(name, options, 'dispatch'),
    pipeline: kernel.pipeline,
    bindGroup: ctx.bindGroup(kernel, siteLabel(name, options, 'bind group'), [uniform, ...buffers]),
    workgroups,
  };
}

function checkSizes(kernel: string, sizes: Record<string, number>): void {
  for (const [name, value] of Object.entries(sizes)) {
    if (!Number.isInteger(value) || value < 1 || value > 0xffffffff) {
      throw new RangeError(`${kernel}: ${name} = ${value} is invalid: use a positive integer`);
    }
  }
}

// ---------------------------------------------------------------- rotary embedding

/**
 * Returns the cosine and sine of every (t, i) angle t · base^(−2i / head_dim), as (l, half, 2)
 * floats, computed in double precision with the same expression as ropeRow.
 */
export function ropeTable(l: number, headDim: number): Float32Array {
  const half = headDim >> 1;
  const table = new Float32Array(l * half * 2);
  for (let t = 0; t < l; t++) {
    for (let i = 0; i < half; i++) {
      const angle = t * Math.pow(ROPE_BASE, (-2 * i) / headDim);
      table[(t * half + i) * 2] = Math.cos(angle);
      table[(t * half + i) * 2 + 1] = Math.sin(angle);
    }
  }
  return table;
}

/**
 * Rotates x into out (b, l, n_head·head_dim) by position; with inverse = true the
 * rotation turns back, which is also the backward pass. out may be x itself. Each
 * call uploads its own cosine and sine table of l · floor(head_dim / 2) · 2 floats.
 */
export function ropeForward(
  ctx: GpuContext, out: GPUBuffer, x: GPUBuffer, b: number, l: number, nHead: number, headDim: number,
  inverse = false, options?: CallOptions,
): Promise<Dispatch> {
  checkSizes('rope_forward', { b, l, nHead, headDim });
  const inPlace = out === x;
  const name: KernelName = inPlace ? 'rope_forward_in_place' : 'rope_forward';
  const table = ctx.upload(siteLabel(name, options, 'cos/sin table'), ropeTable(l, headDim));
  const pairs = b * l * nHead * Math.ceil(headDim / 2);
  return makeDispatch(ctx, name, options, [b, l, nHead, headDim, inverse ? 1 : 0, 0, 0, 0],
    inPlace ? [table, out] : [table, out, x], grid1d(ctx.device, pairs, WORKGROUP_SIZE));
}

// ---------------------------------------------------------------- SwiGLU

/** Computes out = SiLU(gate) ⊙ up over n elements. */
export function swigluForward(
  ctx: GpuContext, out: GPUBuffer, gate: GPUBuffer, up: GPUBuffer, n: number, options?: CallOptions,
): Promise<Dispatch> {
  checkSizes('swiglu_forward', { n });
  return makeDispatch(ctx, 'swiglu_forward', options, [n, 0, 0, 0], [out, gate, up], grid1d(ctx.device, n, WORKGROUP_SIZE));
}

/** Computes dGate = dout ⊙ up ⊙ SiLU'(gate) and dUp = dout ⊙ SiLU(gate), both overwritten. */
export function swigluBackward(
  ctx: GpuContext, dGate: GPUBuffer, dUp: GPUBuffer, dout: GPUBuffer, gate: GPUBuffer, up: GPUBuffer, n: number,
  options?: CallOptions,
): Promise<Dispatch> {
  checkSizes('swiglu_backward', { n });
  return makeDispatch(ctx, 'swiglu_backward', options, [n, 0, 0, 0], [dGate, dUp, dout, gate, up],
    grid1d(ctx.device, n, WORKGROUP_SIZE));
}
