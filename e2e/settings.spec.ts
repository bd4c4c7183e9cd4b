import { expect, test } from '@playwright/test';

test('invalid d_model shows its range and disables Train', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny');
  const train = page.getByRole('button', { name: 'Train', exact: true });
  await expect(train).toBeEnabled();

  const dModel = page.getByLabel('d_model', { exact: true });
  await dModel.fill('5000');
  await expect(page.getByText('d_model = 5000 is out of range: use an integer from 1 to 1024')).toBeVisible();
  await expect(dModel).toHaveAttribute('aria-invalid', 'true');
  await expect(train).toBeDisabled();

  await dModel.fill('abc');
  await expect(page.getByText('d_model = "abc" is not a number')).toBeVisible();
  await expect(train).toBeDisabled();

  await dModel.fill('24');
  await expect(train).toBeEnabled();
  await expect(page.getByText('is not a number')).toHaveCount(0);
});

test('n_data longer than half of seq_len is rejected', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny');
  await page.getByLabel('n_data', { exact: true }).fill('7');
  await expect(page.getByText('n_data = 7 does not fit in seq_len = 12')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Train', exact: true })).toBeDisabled();
});

test('link restores an edited config', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny');
  await page.getByLabel('seed', { exact: true }).fill('7');
  await page.getByLabel('d_state', { exact: true }).fill('2');
  await expect(page).toHaveURL(/seed=7/);
  await expect(page).toHaveURL(/d_state=2/);

  await page.reload();
  await expect(page.getByLabel('seed', { exact: true })).toHaveValue('7');
  await expect(page.getByLabel('d_state', { exact: true })).toHaveValue('2');
  await expect(page.getByLabel('Preset', { exact: true })).toHaveValue('e2e-tiny');
});

test('bad link values are reported field by field', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny&d_state=0&learning_rate=fast&n_layer=2');
  await expect(page.getByText('The link had 2 values that could not be used')).toBeVisible();
  await expect(page.getByText('From the link: d_state = 0 is out of range')).toBeVisible();
  await expect(page.getByText('From the link: learning_rate = "fast" is not a number')).toBeVisible();
  await expect(page.getByLabel('d_state', { exact: true })).toHaveValue('4');
  await expect(page.getByLabel('n_layer', { exact: true })).toHaveValue('2');
  await expect(page.getByRole('button', { name: 'Train', exact: true })).toBeEnabled();
});
