import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// Dawn under Node finds SwiftShader through this Vulkan driver manifest; Debian's
// chromium package installs it. Kernel tests use it when no other driver is set.
const swiftShaderIcd = '/usr/lib/chromium/vk_swiftshader_icd.json';

export default defineConfig({
  plugins: [react()],
  worker: { format: 'es' },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
  test: {
    include: ['src/**/*.test.ts', 'workers/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env: { VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? swiftShaderIcd },
  },
});
