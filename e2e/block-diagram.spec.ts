import { expect, test } from '@playwright/test';

test('choosing a fixed B redraws B as fixed in the block diagram', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny&engine=cpu');
  const diagram = page.getByRole('img', { name: /Block diagram of the Mamba block/ });
  await expect(diagram).toBeVisible();
  const chipB = diagram.locator('[data-param="B"]');
  await expect(chipB).toHaveAttribute('data-input-dependent', 'true');
  await expect(diagram).toHaveAttribute('aria-label', /Δ, B and C input-dependent/);

  await page.getByText('Ablations', { exact: true }).click();
  await page.getByLabel('selective_B').selectOption('false');

  await expect(chipB).toHaveAttribute('data-input-dependent', 'false');
  await expect(chipB).toHaveClass(/fixed/);
  await expect(diagram.locator('[data-param="C"]')).toHaveAttribute('data-input-dependent', 'true');
  await expect(diagram).toHaveAttribute('aria-label', /Δ and C input-dependent, B fixed/);
  await expect(page.getByText('SSM (partly selective, d_state 4)', { exact: false })).toBeVisible();
  await expect(page).toHaveURL(/selective_B=false/);
});
