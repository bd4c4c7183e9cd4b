/**
 * Which Chromium the browser tests launch, and with which flags. Tests never download
 * a browser: they use one installed on the machine.
 */
import fs from 'node:fs';
import { chromium } from '@playwright/test';

/**
 * Returns the Chromium binary: $CHROMIUM_PATH, then /usr/bin/chromium (Debian's
 * package), then a browser Playwright installed earlier. Throws when none exists.
 */
export function findChromium(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!fs.existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH = ${fromEnv} does not exist: set it to a Chromium or Chrome binary`);
    return fromEnv;
  }
  if (fs.existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';

  let installed: string | undefined;
  try {
    installed = chromium.executablePath();
  } catch {
    installed = undefined;
  }
  if (installed && fs.existsSync(installed)) return installed;

  throw new Error(
    'No Chromium found for the browser tests. Install one with `apt-get install chromium` on Debian or Ubuntu, ' +
      'or set CHROMIUM_PATH to a Chromium or Chrome binary.',
  );
}

/**
 * Flags for every launch. Chromium refuses its sandbox as root, and the rest keep a
 * test browser from reaching the network on its own.
 */
export function baseArgs(): string[] {
  const args = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
  if (process.getuid?.() === 0) args.unshift('--no-sandbox');
  return args;
}

/**
 * Enables WebGPU in headless Chromium. Without a GPU, Debian's chromium 156 then
 * offers a SwiftShader adapter (Vulkan on the CPU), which the WebGPU engine runs on.
 */
export const WEBGPU_ARGS = ['--enable-unsafe-webgpu'];

/**
 * Leaves WebGPU unavailable: without --enable-unsafe-webgpu and with the GPU process
 * disabled, requestAdapter() returns null in headless Chromium 156.
 */
export const NO_WEBGPU_ARGS = ['--disable-gpu'];
