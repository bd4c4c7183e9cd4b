import { defineConfig } from '@playwright/test';
import { baseArgs, findChromium, WEBGPU_ARGS } from './e2e/chromium';

// E2E_PORT moves the preview server when 4173 is taken, such as by a second checkout's tests.
const port = Number(process.env.E2E_PORT ?? 4173);
const baseURL = `http://127.0.0.1:${port}`;

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
    command: `npx vite preview --host 127.0.0.1 --port ${port} --strictPort`,
    url: baseURL,
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
  },
});
