/**
 * Loads WebGPU for the command-line tools: the `webgpu` package (Dawn), with
 * SwiftShader as the Vulkan driver when none is chosen.
 */
import { existsSync } from 'node:fs';
import { createNodeGpu } from '../engine/webgpu/node';

/** Vulkan driver manifest of SwiftShader, a software GPU, as Debian's chromium package installs it. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * Loads the `webgpu` package and returns its GPU object, or undefined with a reason
 * when it cannot be loaded. Sets VK_ICD_FILENAMES first, because Dawn reads it when
 * the GPU object is created.
 */
export async function loadNodeGpu(): Promise<{ gpu: GPU | undefined; reason: string | null }> {
  if (process.env.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  try {
    return { gpu: await createNodeGpu(), reason: null };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { gpu: undefined, reason: `loading the webgpu package failed: ${message}` };
  }
}
