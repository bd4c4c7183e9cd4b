/**
 * Refreshes docs/screenshot.png for the README. Runs only on request:
 *   UPDATE_SCREENSHOT=1 npx playwright test screenshot
 */
import { expect, test } from '@playwright/test';
import { collectUntilStep } from './status';

// The CPU engine trains this preset about ten times faster than WebGPU on SwiftShader,
// so the screenshot shows a trained model within a few minutes on a machine without a GPU.
test('screenshot of a training run', async ({ page }) => {
  test.setTimeout(400_000);
  await page.setViewportSize({ width: 1440, height: 1100 });
  await page.goto('/?preset=selective-copying-tiny&engine=cpu');
  await expect(page.getByRole('status')).toContainText('Ready');
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  await collectUntilStep(page, 2000, 360_000);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await expect(page.getByRole('status')).toContainText('Paused');
  await page.screenshot({ path: 'docs/screenshot.png' });
});
