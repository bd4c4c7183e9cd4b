import { expect, test, type Page } from '@playwright/test';

/** Finds an input of the run settings panel by its label, because the benchmark panel has fields of the same names. */
function setting(page: Page, name: string) {
  return page.getByRole('complementary', { name: 'Run settings' }).getByLabel(name, { exact: true });
}

test('invalid d_model shows its range and disables Train', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny');
  const train = page.getByRole('button', { name: 'Train', exact: true });
  await expect(train).toBeEnabled();

  const dModel = setting(page, 'd_model');
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
  await setting(page, 'n_data').fill('7');
  await expect(page.getByText('n_data = 7 does not fit in seq_len = 12')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Train', exact: true })).toBeDisabled();
});

test('vocab_size below 3 names the task minimum', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny');
  const vocab = setting(page, 'vocab_size');
  for (const value of ['0', '1', '2']) {
    await vocab.fill(value);
    await expect(page.getByText(`vocab_size = ${value} is out of range: use an integer from 3 to 4096`)).toBeVisible();
  }
  await vocab.fill('3');
  await expect(vocab).not.toHaveAttribute('aria-invalid', 'true');
});

test('hexadecimal input is rejected and valid input is rewritten', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny');
  const dModel = setting(page, 'd_model');
  await dModel.fill('0x10');
  await expect(page.getByText('d_model = "0x10" is not written in decimal digits')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Train', exact: true })).toBeDisabled();

  await dModel.fill('16');
  const learningRate = setting(page, 'learning_rate');
  await learningRate.fill('5e-3');
  await learningRate.blur();
  await expect(learningRate).toHaveValue('0.005');
  await expect(page).toHaveURL(/learning_rate=0\.005/);
});

test('link restores an edited config', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny');
  await setting(page, 'seed').fill('7');
  await setting(page, 'd_state').fill('2');
  await expect(page).toHaveURL(/seed=7/);
  await expect(page).toHaveURL(/d_state=2/);

  await page.reload();
  await expect(setting(page, 'seed')).toHaveValue('7');
  await expect(setting(page, 'd_state')).toHaveValue('2');
  await expect(setting(page, 'Preset')).toHaveValue('e2e-tiny');
});

test('bad link values are reported field by field', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny&d_state=0&learning_rate=fast&n_layer=2');
  await expect(page.getByText('The link had 2 values that could not be used')).toBeVisible();
  await expect(page.getByText('From the link: d_state = 0 is out of range')).toBeVisible();
  await expect(page.getByText('From the link: learning_rate = "fast" is not a number')).toBeVisible();
  await expect(setting(page, 'd_state')).toHaveValue('4');
  await expect(setting(page, 'n_layer')).toHaveValue('2');
  await expect(page.getByRole('button', { name: 'Train', exact: true })).toBeEnabled();
});

test('link value for a hidden field is listed in the banner', async ({ page }) => {
  await page.goto('/?preset=induction-heads-small&n_data=3');
  const summary = page.locator('.link-summary');
  await expect(summary).toContainText('The link had a value that could not be used.');
  await expect(summary).toContainText('n_data does not apply to the induction-heads task, so it was ignored');
  await expect(summary).not.toContainText('marked below');
  await expect(setting(page, 'n_data')).toHaveCount(0);
});

test('editing a preset replaces its description', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny');
  const description = page.locator('.preset-description');
  await expect(description).toContainText('A one-layer model on 12-token selective copying');

  await setting(page, 'seed').fill('5');
  await expect(description).toHaveText('Modified from Smoke test (tiny).');
  await setting(page, 'seed').fill('1');
  await expect(description).toContainText('A one-layer model on 12-token selective copying');

  await page.getByLabel('Task', { exact: true }).selectOption('induction-heads');
  await expect(description).toHaveText('Modified from Smoke test (tiny).');
});

test('choosing a preset keeps the engine choice', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny&engine=cpu');
  await page.getByLabel('Preset', { exact: true }).selectOption('selective-copying-tiny');
  await expect(page.locator('#engine-select')).toHaveValue('cpu');
  await expect(page).toHaveURL(/engine=cpu/);
});

test('a misspelt link key is named with the closest setting', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny&engine=cpu&d_stat=4');
  await expect(page.getByRole('alert').filter({ hasText: 'does not have' })).toContainText('d_stat is not a setting: did you mean d_state?');
});
