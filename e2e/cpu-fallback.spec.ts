import { expect, test } from '@playwright/test';
import { baseArgs, findChromium, NO_WEBGPU_ARGS } from './chromium';
import { collectUntilStep, drawnCells } from './status';

test.use({ launchOptions: { executablePath: findChromium(), args: [...baseArgs(), ...NO_WEBGPU_ARGS] } });

test('without WebGPU the CPU engine trains and says why', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny');
  const status = page.getByRole('status');
  await expect(status).toContainText('Ready');
  await expect(status).toContainText('CPU');
  await expect(page.getByText('WebGPU is not used:')).toBeVisible();

  await page.getByRole('button', { name: 'Train', exact: true }).click();
  const readings = await collectUntilStep(page, 30, 60_000);
  expect(readings.length).toBeGreaterThan(0);
  await expect(status).toContainText('CPU');
  expect(await drawnCells(page, 'Δ heatmap, layer 1')).toBeGreaterThan(0);
});
