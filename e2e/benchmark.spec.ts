import { expect, test } from '@playwright/test';

test('running the scan benchmark fills the chart and table', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny#scan');
  const panel = page.locator('section.benchmark');
  await panel.getByLabel('lengths').fill('33,64');
  await panel.getByLabel('d_inner').fill('8');
  await panel.getByLabel('d_state').fill('4');
  await panel.getByLabel('repeats').fill('1');
  await panel.getByRole('button', { name: 'Run benchmark' }).click();

  const rows = panel.locator('table.bench-table tbody tr');
  await expect(rows).toHaveCount(2, { timeout: 120_000 });
  await expect(rows.nth(0).locator('td').first()).toHaveText('33');
  // Every timed cell contains a number, because nothing is skipped at these sizes.
  const cells = await rows.nth(1).locator('td').allTextContents();
  for (const text of cells.slice(1, 6)) expect(Number(text), `cell ${text}`).toBeGreaterThan(0);
  await expect(panel.getByText(/SwiftShader|GPU timestamps|wall time/)).toBeVisible();
  const chart = panel.getByRole('img', { name: 'scan benchmark, time against length' });
  await expect(chart.locator('circle')).toHaveCount(10);
});

test('invalid benchmark length names the value', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny#scan');
  const panel = page.locator('section.benchmark');
  await panel.getByLabel('lengths').fill('512,abc');
  await expect(panel.getByRole('alert')).toContainText('length = abc is invalid');
  await expect(panel.getByRole('button', { name: 'Run benchmark' })).toBeDisabled();
});
