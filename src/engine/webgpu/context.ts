/**
 * Device-level plumbing shared by the kernel wrappers and the engine: the table
 * of kernels and their bindings, a pipeline cache keyed by kernel name and
 * override values, labelled buffer creation with one owner, and command
 * encoding.
 */
import { getShaderSource, loadShaderSources } from '../shaders';

type BindingKind = 'uniform' | 'storage' | 'read-only-storage';

interface KernelSpec {
  /** File stem in shaders/; the entry point is the kernel name. */
  file: string;
  /** Binding kinds in binding order, starting at @binding(0) of group 0. */
  bindings: BindingKind[];
}

const U: BindingKind = 'uniform';
const RW: BindingKind = 'storage';
const R: BindingKind = 'read-only-storage';

/** Every kernel entry point, with the bindings its WGSL declares. */
const KERNELS = {
  embedding_forward: { file: 'embedding', bindings: [U, RW, R, R] },
  embedding_backward: { file: 'embedding', bindings: [U, RW, R, R] },
  attention_forward: { file: 'attention', bindings: [U, RW, RW, R, R, R] },
  attention_backward_dq: { file: 'attention', bindings: [U, RW, RW, R, R, R, R, R, R] },
  attention_backward_dkdv: { file: 'attention', bindings: [U, RW, RW, R, R, R, R, R, R] },
  attention_naive_scores: { file: 'attention_naive', bindings: [U, RW, R, R] },
  attention_naive_softmax: { file: 'attention_naive', bindings: [U, RW, RW] },
  attention_naive_output: { file: 'attention_naive', bindings: [U, RW, R, R] },
  attention_naive_backward_dv: { file: 'attention_naive', bindings: [U, RW, R, R] },
  attention_naive_backward_ds: { file: 'attention_naive', bindings: [U, RW, R, R, R] },
  attention_naive_backward_dq: { file: 'attention_naive', bindings: [U, RW, R, R] },
  attention_naive_backward_dk: { file: 'attention_naive', bindings: [U, RW, R, R] },
  position_embedding_forward: { file: 'position_embedding', bindings: [U, RW, R] },
  rope_forward: { file: 'rope', bindings: [U, R, RW, R] },
  rope_forward_in_place: { file: 'rope', bindings: [U, R, RW] },
  swiglu_forward: { file: 'swiglu', bindings: [U, RW, R, R] },
  swiglu_backward: { file: 'swiglu', bindings: [U, RW, RW, R, R, R] },
  rmsnorm_forward: { file: 'rmsnorm', bindings: [U, RW, RW, R, R] },
  rmsnorm_backward_dx: { file: 'rmsnorm', bindings: [U, RW, R, R, R, R] },
  rmsnorm_backward_dw: { file: 'rmsnorm', bindings: [U, RW, R, R, R] },
  matmul: { file: 'matmul', bindings: [U, RW, R, R] },
  conv1d_silu_forward: { file: 'conv1d_silu', bindings: [U, RW, RW, R, R] },
  conv1d_silu_backward: { file: 'conv1d_silu', bindings: [U, RW, RW, R, R, R, R] },
  conv1d_silu_backward_dw: { file: 'conv1d_silu', bindings: [U, RW, R] },
  selective_scan_forward: { file: 'selective_scan', bindings: [U, RW, RW, RW, R, R, R, R] },
  selective_scan_backward: { file: 'selective_scan', bindings: [U, RW, RW, R, R, R, R, R, R] },
  selective_scan_backward_bc: { file: 'selective_scan', bindings: [U, RW, RW, R, R, R, R, R, R] },
  // Bindings 4 to 7 are unused by this entry point; the scan's other inputs fill them.
  selective_scan_backward_bc_sum: { file: 'selective_scan', bindings: [U, RW, R, R, R, R, R, R, R] },
  selective_scan_fused_forward: { file: 'selective_scan_fused', bindings: [U, RW, RW, R, R, R, R, R, RW] },
  selective_scan_fused_backward: { file: 'selective_scan_fused', bindings: [U, RW, R, R, R, R, R, R, RW] },
  selective_scan_fused_reduce: { file: 'selective_scan_fused', bindings: [U, RW, RW, R] },
  selective_scan_materializing_discretize: { file: 'selective_scan_materializing', bindings: [U, RW, RW, R, R, R, R] },
  selective_scan_materializing_scan: { file: 'selective_scan_materializing', bindings: [U, RW, R] },
  selective_scan_materializing_output: { file: 'selective_scan_materializing', bindings: [U, RW, RW, R, R, R, R, R] },
  selective_scan_materializing_backward_gate: { file: 'selective_scan_materializing', bindings: [U, RW, RW, RW, R, R, R, R] },
  selective_scan_materializing_backward_scan: { file: 'selective_scan_materializing', bindings: [U, RW, RW, R] },
  selective_scan_materializing_backward_bc: { file: 'selective_scan_materializing', bindings: [U, RW, R, R, R, R, R, R] },
  selective_scan_materializing_backward_delta: { file: 'selective_scan_materializing', bindings: [U, RW, R, R, R, R, R, R, R] },
  selective_scan_materializing_backward_params: { file: 'selective_scan_materializing', bindings: [U, RW, R, R, R, R, R, R] },
  conv1d_silu_step: { file: 'mamba_step', bindings: [U, RW, RW, R, R] },
  selective_scan_step: { file: 'mamba_step', bindings: [U, RW, RW, R, R, R, R, R] },
  attention_decode_append: { file: 'attention_decode', bindings: [U, U, RW, RW, RW, R, R, R] },
  attention_decode_partial: { file: 'attention_decode', bindings: [U, U, RW, R, R, R] },
  attention_decode_combine: { file: 'attention_decode', bindings: [U, U, RW, R] },
  memory_copy: { file: 'memory_copy', bindings: [U, RW, R] },
  silu_gate_forward: { file: 'silu_gate', bindings: [U, RW, R, R] },
  silu_gate_backward: { file: 'silu_gate', bindings: [U, RW, RW, R, R, R] },
  silu_forward: { file: 'silu_gate', bindings: [U, RW, R] },
  silu_backward: { file: 'silu_gate', bindings: [U, RW, R, R] },
  cross_entropy_forward_backward: { file: 'cross_entropy', bindings: [U, U, RW, RW, RW, R, R, R] },
  reduce_rows: { file: 'reduce', bindings: [U, RW, R, R] },
  sum_of_squares_partial: { file: 'reduce', bindings: [U, RW, R] },
  clip_scale: { file: 'reduce', bindings: [U, RW, R] },
  metrics_accumulate: { file: 'reduce', bindings: [U, RW, R, R, R] },
  adamw_update: { file: 'adamw', bindings: [U, U, RW, RW, RW, R, R, R] },
} satisfies Record<string, KernelSpec>;

export type KernelName = keyof typeof KERNELS;

/** A compiled kernel: its pipeline and the explicit bind group layout it was built with. */
export interface Kernel {
  name: KernelName;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/** One compute dispatch, ready to encode any number of times. */
export interface Dispatch {
  kind: 'dispatch';
  label: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  workgroups: [number, number, number];
}

export interface CopyCommand {
  kind: 'copy';
  source: GPUBuffer;
  destination: GPUBuffer;
  /** Bytes to copy, from offset 0 of both buffers. */
  size: number;
}

export interface ClearCommand {
  kind: 'clear';
  buffer: GPUBuffer;
}

export type Command = Dispatch | CopyCommand | ClearCommand;

/** A float32 tensor inside a buffer; offset counts floats. */
export interface Tensor {
  buffer: GPUBuffer;
  offset: number;
}

export type TensorArg = GPUBuffer | Tensor;

export function tensorOf(t: TensorArg): Tensor {
  return 'buffer' in t ? t : { buffer: t, offset: 0 };
}

/** A field of a uniform struct: a plain number is a u32, { f32 } a float. */
export type UniformField = number | { f32: number };

/** Raised when a kernel's WGSL fails to compile or its pipeline fails validation. */
export class KernelBuildError extends Error {
  constructor(readonly kernel: string, detail: string) {
    super(`building kernel ${kernel} failed: ${detail}`);
    this.name = 'KernelBuildError';
  }
}

/** Formats compilation messages as "file.wgsl:line:column: type: message" lines. */
function formatMessages(file: string, messages: readonly GPUCompilationMessage[]): string {
  return messages.map((m) => `${file}.wgsl:${m.lineNum}:${m.linePos}: ${m.type}: ${m.message}`).join('\n');
}

/**
 * Owns the pipelines and buffers that one engine or one test creates on a
 * device; destroy() frees every buffer it made.
 */
export class GpuContext {
  private readonly modules = new Map<string, Promise<GPUShaderModule>>();
  private readonly kernels = new Map<string, Promise<Kernel>>();
  private readonly buffers = new Set<GPUBuffer>();
  private live = 0;
  private peak = 0;

  constructor(readonly device: GPUDevice) {}

  /** Returns the cached pipeline of a kernel under these override values, building it on first use. */
  kernel(name: KernelName, constants: Record<string, number> = {}): Promise<Kernel> {
    const key = `${name}${JSON.stringify(Object.entries(constants).sort(([a], [b]) => a.localeCompare(b)))}`;
    let kernel = this.kernels.get(key);
    if (!kernel) {
      kernel = this.buildKernel(name, constants);
      this.kernels.set(key, kernel);
    }
    return kernel;
  }

  private module(file: string, kernel: string): Promise<GPUShaderModule> {
    let module = this.modules.get(file);
    if (!module) {
      module = (async () => {
        await loadShaderSources();
        this.device.pushErrorScope('validation');
        const created = this.device.createShaderModule({ label: `${file}.wgsl`, code: getShaderSource(file) });
        const info = await created.getCompilationInfo();
        const error = await this.device.popErrorScope();
        const errors = info.messages.filter((m) => m.type === 'error');
        if (error || errors.length > 0) {
          throw new KernelBuildError(kernel, `${file}.wgsl did not compile:\n${formatMessages(file, info.messages) || error?.message}`);
        }
        return created;
      })();
      this.modules.set(file, module);
    }
    return module;
  }

  private async buildKernel(name: KernelName, constants: Record<string, number>): Promise<Kernel> {
    const spec: KernelSpec = KERNELS[name];
    const module = await this.module(spec.file, name);
    this.device.pushErrorScope('validation');
    const layout = this.device.createBindGroupLayout({
      label: `${name}: bind group layout`,
      entries: spec.bindings.map((type, binding) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } })),
    });
    const pipeline = this.device.createComputePipeline({
      label: `${name}: pipeline`,
      layout: this.device.createPipelineLayout({ label: `${name}: pipeline layout`, bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: name, constants },
    });
    const error = await this.device.popErrorScope();
    if (error) {
      const info = await module.getCompilationInfo();
      const messages = formatMessages(spec.file, info.messages);
      throw new KernelBuildError(name, `${error.message}${messages ? `\n${messages}` : ''}`);
    }
    return { name, pipeline, layout };
  }

  /** Creates a buffer owned by this context; sizes round up to a multiple of 4 bytes. */
  createBuffer(label: string, byteSize: number, usage: GPUBufferUsageFlags): GPUBuffer {
    const size = Math.max(4, Math.ceil(byteSize / 4) * 4);
    const limit = this.device.limits.maxBufferSize;
    if (size > limit) {
      throw new RangeError(`${label} needs ${size} bytes, over this device's maxBufferSize of ${limit}: reduce batch_size, seq_len or the model size`);
    }
    const buffer = this.device.createBuffer({ label, size, usage });
    this.buffers.add(buffer);
    this.live += size;
    this.peak = Math.max(this.peak, this.live);
    return buffer;
  }

  /** Creates a storage buffer of `floats` 32-bit elements, zero-filled. */
  createStorage(label: string, floats: number): GPUBuffer {
    const bytes = Math.max(4, floats * 4);
    const limit = this.device.limits.maxStorageBufferBindingSize;
    if (bytes > limit) {
      throw new RangeError(`${label} needs ${bytes} bytes, over this device's maxStorageBufferBindingSize of ${limit}: reduce batch_size, seq_len or the model size`);
    }
    return this.createBuffer(label, bytes, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);
  }

  /** Creates a storage buffer holding `data`. */
  upload(label: string, data: Float32Array | Int32Array | Uint32Array): GPUBuffer {
    const buffer = this.createStorage(label, data.length);
    this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return buffer;
  }

  /** Creates a uniform buffer holding the fields in order, padded to 16 bytes. */
  uniform(label: string, fields: UniformField[]): GPUBuffer {
    const bytes = Math.ceil(Math.max(fields.length, 1) / 4) * 16;
    const data = new DataView(new ArrayBuffer(bytes));
    fields.forEach((field, i) => {
      if (typeof field === 'number') {
        if (!Number.isInteger(field) || field < 0 || field > 0xffffffff) {
          throw new RangeError(`${label}: field ${i} = ${field} is not a u32`);
        }
        data.setUint32(i * 4, field, true);
      } else {
        data.setFloat32(i * 4, field.f32, true);
      }
    });
    const buffer = this.createBuffer(label, bytes, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    this.device.queue.writeBuffer(buffer, 0, data.buffer);
    return buffer;
  }

  /** Binds whole buffers in binding order. */
  bindGroup(kernel: Kernel, label: string, buffers: GPUBuffer[]): GPUBindGroup {
    return this.device.createBindGroup({
      label,
      layout: kernel.layout,
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }

  /** Destroys one buffer made by this context. */
  destroyBuffer(buffer: GPUBuffer): void {
    if (this.buffers.delete(buffer)) {
      this.live -= buffer.size;
      buffer.destroy();
    }
  }

  /** Destroys every buffer made by this context and keeps its pipelines, so that later calls reuse them. */
  destroyBuffers(): void {
    for (const buffer of this.buffers) buffer.destroy();
    this.buffers.clear();
    this.live = 0;
  }

  /** Destroys every buffer made by this context; pipelines have no destroy and go with the device. */
  destroy(): void {
    this.destroyBuffers();
    this.kernels.clear();
    this.modules.clear();
  }

  /** Total bytes of the buffers this context holds. */
  get allocatedBytes(): number {
    return this.live;
  }

  /** Bytes of the buffers this context holds now, after rounding each up to 4 bytes; the same as allocatedBytes. */
  get liveBytes(): number {
    return this.live;
  }

  /**
   * Most bytes this context held at once since it was created or since the last
   * resetPeak(). Counts only buffers made through this context, not the staging
   * buffers of readBuffers or buffers made on the device directly.
   */
  get peakBytes(): number {
    return this.peak;
  }

  /** Starts a new peak from the bytes held now. */
  resetPeak(): void {
    this.peak = this.live;
  }
}

/**
 * Spreads `count` invocations of workgroup size `wg` over a grid whose x count
 * stays within the device limit; kernels recover the index as
 * gid.x + gid.y · num_workgroups.x · WG and skip indices ≥ count.
 */
export function grid1d(device: GPUDevice, count: number, wg: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(count / wg));
  return spreadGroups(device, groups, 'invocations');
}

/** Spreads `groups` workgroups over x and y, for kernels that index by workgroup. */
export function spreadGroups(device: GPUDevice, groups: number, purpose = 'workgroups'): [number, number, number] {
  const max = device.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= max) return [groups, 1, 1];
  const y = Math.ceil(groups / max);
  if (y > max) throw new RangeError(`${groups} workgroups of ${purpose} exceed this device's dispatch limit: reduce batch_size, seq_len or the model size`);
  return [Math.ceil(groups / y), y, 1];
}

/** Records commands into the encoder, grouping consecutive dispatches into one compute pass. */
export function encodeCommands(encoder: GPUCommandEncoder, commands: readonly Command[], label: string): void {
  let pass: GPUComputePassEncoder | null = null;
  for (const command of commands) {
    if (command.kind === 'dispatch') {
      pass ??= encoder.beginComputePass({ label });
      pass.setPipeline(command.pipeline);
      pass.setBindGroup(0, command.bindGroup);
      pass.dispatchWorkgroups(...command.workgroups);
      continue;
    }
    pass?.end();
    pass = null;
    if (command.kind === 'copy') {
      encoder.copyBufferToBuffer(command.source, 0, command.destination, 0, command.size);
    } else {
      encoder.clearBuffer(command.buffer);
    }
  }
  pass?.end();
}

/**
 * Copies byte ranges of buffers into one staging buffer, waits for the device
 * and returns a copy of each range. afterCopy may record more commands into the
 * same submission, such as clearing what was read. The staging buffer lives only
 * for this call, and the copy is submitted before the first await, so it sees
 * exactly the work submitted before the call.
 */
export async function readBuffers(
  device: GPUDevice, ranges: readonly { buffer: GPUBuffer; offset?: number; size: number }[], label: string,
  afterCopy?: (encoder: GPUCommandEncoder) => void,
): Promise<ArrayBuffer[]> {
  const starts: number[] = [];
  let total = 0;
  for (const range of ranges) {
    starts.push(total);
    total += Math.ceil(range.size / 4) * 4;
  }
  const staging = device.createBuffer({ label: `${label}: staging`, size: Math.max(4, total), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const encoder = device.createCommandEncoder({ label: `${label}: readback` });
    ranges.forEach((range, i) => {
      encoder.copyBufferToBuffer(range.buffer, range.offset ?? 0, staging, starts[i], Math.ceil(range.size / 4) * 4);
    });
    afterCopy?.(encoder);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const mapped = staging.getMappedRange();
    const copies = ranges.map((range, i) => mapped.slice(starts[i], starts[i] + range.size));
    staging.unmap();
    return copies;
  } finally {
    staging.destroy();
  }
}

/** Reads `count` floats from the start of a buffer. */
export async function readFloats(device: GPUDevice, buffer: GPUBuffer, count: number): Promise<Float32Array> {
  const [data] = await readBuffers(device, [{ buffer, size: count * 4 }], buffer.label || 'buffer');
  return new Float32Array(data);
}
