import { expect, test } from '@playwright/test';
import { collectUntilStep, drawnCells } from './status';

test('the Transformer baseline trains and shows its attention weights', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny&engine=cpu');
  await expect(page.getByRole('status')).toContainText('Ready');
  const mambaCount = await page.getByTestId('parameter-count').textContent();

  await page.getByLabel('architecture').selectOption('transformer');
  await expect(page.getByLabel('n_head')).toBeVisible();
  await expect(page.getByLabel('d_state')).toHaveCount(0);
  // The count now belongs to the Transformer, and Mamba's count at this size is quoted beside it.
  const counts = page.getByTestId('parameter-count');
  await expect(counts).toContainText('Mamba at this size');
  expect(await counts.textContent()).not.toBe(mambaCount);
  await expect(page).toHaveURL(/architecture=transformer/);

  await expect(page.getByRole('status')).toContainText('Ready');
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  await collectUntilStep(page, 20, 120_000);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await expect(page.getByRole('status')).toContainText('Paused');

  expect(await drawnCells(page, 'Attention weights, layer 1')).toBeGreaterThan(0);
  await expect(page.getByRole('img', { name: /Δ heatmap/ })).toHaveCount(0);
  await page.getByLabel('attention head', { exact: true }).selectOption('1');
  expect(await drawnCells(page, 'Attention weights, layer 1')).toBeGreaterThan(0);
});

test('a link with a bad architecture value opens Mamba and says why', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny&architecture=rnn&engine=cpu');
  await expect(page.getByText('architecture = "rnn" is not known: use mamba, transformer')).toBeVisible();
  await expect(page.getByLabel('architecture')).toHaveValue('mamba');
});
