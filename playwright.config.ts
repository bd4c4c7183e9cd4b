import { defineConfig } from '@playwright/test';
import { baseArgs, findChromium, WEBGPU_ARGS } from './e2e/chromium';

const baseURL = 'http://127.0.0.1:4173';

export default defineConfig({
  testDir: 'e2e',
  // docs/screenshot.png is refreshed on request only: UPDATE_SCREENSHOT=1 npx playwright test screenshot
  testIgnore: process.env.UPDATE_SCREENSHOT ? [] : ['**/screenshot.spec.ts'],
  // WebGPU on SwiftShader runs on the CPU, so the tests share the machine one at a time.
  workers: 1,
  fullyParallel: false,
  timeout: 180_000,
  expect: { timeout: 30_000 },
  forbidOnly: !!process.env.CI,
  reporter: 'list',
  use: {
    baseURL,
    browserName: 'chromium',
    viewport: { width: 1440, height: 900 },
    launchOptions: { executablePath: findChromium(), args: [...baseArgs(), ...WEBGPU_ARGS] },
    trace: 'retain-on-failure',
  },
  webServer: {
    // `npm run test:e2e` builds dist/ first.
    command: 'npx vite preview --host 127.0.0.1 --port 4173 --strictPort',
    url: baseURL,
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
  },
});
