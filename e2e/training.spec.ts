import { expect, test } from '@playwright/test';
import { collectUntilStep, drawnCells, readStatus } from './status';

// Auto prefers the CPU engine over SwiftShader, the software adapter these tests get
// without a GPU, so the WebGPU test chooses WebGPU in the link.
test('training on WebGPU lowers the loss and draws Δ', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny&engine=webgpu');
  const status = page.getByRole('status');
  await expect(status).toContainText('Ready');
  await expect(status).toContainText('WebGPU');

  await page.getByRole('button', { name: 'Train', exact: true }).click();
  const readings = await collectUntilStep(page, 60, 150_000, 3);
  const current = await readStatus(page);
  expect(current.text).toContain('WebGPU');
  const first = readings[0];
  const last = readings[readings.length - 1];
  expect(last.loss!, `loss at step ${first.step} was ${first.loss}, at step ${last.step} ${last.loss}`).toBeLessThan(first.loss!);

  await expect(page.getByRole('img', { name: 'loss curve', exact: true })).not.toHaveAttribute('data-points', '0');
  await expect(page.getByRole('img', { name: 'accuracy curve', exact: true })).toBeVisible();
  expect(await drawnCells(page, 'Δ heatmap, layer 1')).toBeGreaterThan(0);
  await expect(page.getByRole('img', { name: 'state heatmap, layer 1, channel 1', exact: true })).not.toHaveAttribute('data-cells', '0');
  await expect(page.getByRole('img', { name: 'state norm, layer 1, channel 1', exact: true })).toBeVisible();
});

test('Auto on a software adapter trains on the CPU and says why', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny&engine=auto');
  const status = page.getByRole('status');
  await expect(status).toContainText('Ready');
  await expect(status).toContainText('CPU (WebGPU not used)');
  await expect(page.getByText('WebGPU is not used: the only WebGPU adapter is a software implementation')).toBeVisible();
});

test('Pause stops training within a second', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny');
  await expect(page.getByRole('status')).toContainText('Ready');
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  await collectUntilStep(page, 5, 120_000);

  const pausedAt = Date.now();
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await expect(page.getByRole('status')).toContainText('Paused', { timeout: 5_000 });
  expect(Date.now() - pausedAt).toBeLessThan(1_000);

  const stepWhenPaused = (await readStatus(page)).step;
  await page.waitForTimeout(1_000);
  expect((await readStatus(page)).step).toBe(stepWhenPaused);
  await expect(page.getByRole('heading', { name: `Δ per token at step ${stepWhenPaused}`, exact: true })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Train', exact: true })).toBeEnabled();
  await expect(page.getByRole('button', { name: 'Pause', exact: true })).toBeDisabled();

  await page.getByRole('button', { name: 'Reset', exact: true }).click();
  await expect(page.getByRole('status')).toContainText('step 0');
});
