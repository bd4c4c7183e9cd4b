import fs from 'node:fs/promises';
import { expect, test, type Download, type Locator, type Page } from '@playwright/test';

async function downloadText(page: Page, button: Locator): Promise<{ name: string; text: string }> {
  const [file]: [Download, void] = await Promise.all([page.waitForEvent('download'), button.click()]);
  return { name: file.suggestedFilename(), text: await fs.readFile(await file.path(), 'utf8') };
}

test('a paper grid trains, extrapolates and shows its chart', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny&engine=cpu');
  await page.getByRole('tab', { name: 'Compare', exact: true }).click();
  await expect(page.getByText('No runs yet.')).toBeVisible();

  // The full-size paper grid warns before anything is added.
  const gridSelect = page.getByLabel('Paper grid');
  await gridSelect.selectOption('paper-table1');
  await expect(page.getByRole('note')).toContainText('Full paper setting: this takes very long.');
  await expect(page.getByRole('note')).toContainText('pick the small version');

  // The smoke-test grid: a Mamba and an attention run on the CPU engine, the Train view's engine.
  await gridSelect.selectOption('e2e-extrapolation-tiny');
  await expect(page.getByRole('note')).toHaveCount(0);
  await expect(page.getByLabel('Engine of its runs')).toHaveValue('cpu');
  await page.getByRole('button', { name: 'Add grid' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Added 2 runs' })).toBeVisible();
  await expect(page.getByRole('textbox', { name: 'Name of run 1' })).toHaveValue('Mamba');
  await expect(page.getByRole('textbox', { name: 'Name of run 2' })).toHaveValue('Attention, absolute');

  // Before training, the panel already draws the paper's curves: four points each, at 16 to 128.
  const panel = page.getByRole('region', { name: 'Length extrapolation' });
  const chart = panel.getByRole('img', { name: /^length extrapolation/ });
  await expect(chart).toHaveAttribute('data-series', '4');
  await expect(chart).toHaveAttribute('data-points', '8');
  await expect(chart).toHaveAttribute('data-skipped', '0');
  await expect(chart.locator('.rule-label')).toHaveText('trained at 32');
  await expect(panel.getByRole('button', { name: 'Evaluate all finished runs' })).toBeDisabled();

  // Evaluating a run that has not trained asks to train it first.
  await panel.getByRole('button', { name: 'Evaluate Mamba at every test length' }).click();
  await expect(panel.getByRole('status').filter({ hasText: 'train this run to the end first' })).toBeVisible();

  await page.getByRole('button', { name: 'Start queue' }).click();
  await expect(page.getByRole('progressbar', { name: 'Progress of Mamba', exact: true })).toHaveJSProperty('value', 30, { timeout: 120_000 });
  await expect(page.getByRole('progressbar', { name: 'Progress of Attention, absolute', exact: true })).toHaveJSProperty('value', 30, {
    timeout: 120_000,
  });

  await panel.getByRole('button', { name: 'Evaluate all finished runs' }).click();
  const table = panel.getByRole('table', { name: 'Accuracy per test length' });
  const mambaRow = table.locator('tbody tr').filter({ hasText: 'Mamba' });
  const attentionRow = table.locator('tbody tr').filter({ hasText: 'Attention, absolute' });
  await expect(attentionRow.locator('td[data-length="128"]')).toContainText('positions beyond max_len', { timeout: 60_000 });
  await expect(panel.getByRole('button', { name: 'Evaluate all finished runs' })).toBeEnabled();
  for (const length of [16, 32, 64, 128]) {
    await expect(mambaRow.locator(`td[data-length="${length}"]`)).toContainText(/^\d+\.\d%/);
  }
  for (const length of [16, 32, 64]) {
    await expect(attentionRow.locator(`td[data-length="${length}"]`)).toContainText(/^\d+\.\d%/);
  }
  // The paper's absolute-position attention at twice its training length, drawn at twice 32.
  await expect(attentionRow.locator('td[data-length="64"]')).toContainText('paper 58.6%');

  // Four Mamba points, three of attention and eight of the paper; attention's 128 is an × with its status, not a zero.
  await expect(chart).toHaveAttribute('data-points', '15');
  await expect(chart).toHaveAttribute('data-skipped', '1');
  await expect(chart.locator('.skipped-label')).toHaveText('Attention, absolute: positions beyond max_len');

  const svg = await downloadText(page, panel.getByRole('button', { name: 'Download length extrapolation as SVG' }));
  expect(svg.name).toBe('length-extrapolation.svg');
  expect(svg.text).toContain('trained at 32');
  expect(svg.text).toContain('Attention, absolute: paper (MHA-Abs)');
  const csv = await downloadText(page, panel.getByRole('button', { name: 'Download the extrapolation points as CSV' }));
  expect(csv.text.split('\r\n')[0]).toBe('name,label,grid,paper_row,train_length,length,accuracy,status,method,samples,seconds,paper_accuracy');
  expect(csv.text).toContain('"Attention, absolute","Attention, absolute",e2e-extrapolation-tiny,MHA-Abs,32,128,,positions beyond max_len,,0,0,0.266\r\n');

  // The points are stored with the runs and come back after a reload.
  await page.reload();
  await expect(attentionRow.locator('td[data-length="128"]')).toContainText('positions beyond max_len');
  await expect(mambaRow.locator('td[data-length="16"]')).toContainText(/^\d+\.\d%/);
  await expect(chart).toHaveAttribute('data-points', '15');
  await expect(page.getByRole('textbox', { name: 'Name of run 3' })).toHaveCount(0);
});
