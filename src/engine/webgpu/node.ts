/**
 * A WebGPU device under Node.js through the `webgpu` package (Dawn), for the
 * kernel tests and the command line. Without a GPU, Dawn runs on SwiftShader
 * when VK_ICD_FILENAMES points at its Vulkan driver manifest, as
 * vite.config.ts sets for tests.
 */
import { requestDevice } from '../create';

/**
 * NOTE: with webgpu 0.6.2, garbage-collecting the GPU object while the process
 * runs on aborts it (std::system_error or a futex error from Dawn's threads), so
 * the one instance is kept for the life of the process.
 */
let nodeGpu: Promise<GPU> | null = null;

/** Installs the WebGPU globals (GPUBufferUsage and others) and returns Dawn's GPU object. */
export function createNodeGpu(): Promise<GPU> {
  nodeGpu ??= (async () => {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    return create([]);
  })();
  return nodeGpu;
}

/**
 * Requests a device from Dawn through requestDevice in ../create.ts, so tests request the same limits as the app,
 * with those of optionalFeatures that the adapter offers.
 */
export async function requestNodeDevice(
  optionalFeatures: readonly GPUFeatureName[] = [],
): Promise<{ device: GPUDevice; adapterName: string }> {
  const result = await requestDevice(await createNodeGpu(), optionalFeatures);
  if ('reason' in result) throw new Error(`no WebGPU device under Node: ${result.reason}`);
  return result;
}
