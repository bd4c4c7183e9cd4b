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

test('choosing the CPU engine says it was chosen', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny&engine=cpu');
  await expect(page.getByRole('status')).toContainText('CPU (chosen)');
  await expect(page.getByText('The CPU engine was chosen under Advanced')).toBeVisible();
  await expect(page.getByText('WebGPU is not used:')).toHaveCount(0);
});

test('Train after a failed WebGPU setup trains once CPU is chosen', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny&engine=webgpu');
  const banner = page.getByRole('alert').filter({ hasText: 'Setting up the run failed.' });
  await expect(banner).toContainText('WebGPU engine unavailable');
  await expect(page.getByText('Training stopped with an error')).toHaveCount(0);
  const train = page.getByRole('button', { name: 'Train', exact: true });
  await expect(train).toBeEnabled();

  await page.getByText('Advanced', { exact: true }).click();
  await page.getByLabel('engine', { exact: true }).selectOption('cpu');
  await train.click();
  await collectUntilStep(page, 10, 60_000);
  await expect(banner).toHaveCount(0);
  await expect(page.getByRole('status')).toContainText('CPU (chosen)');
});
