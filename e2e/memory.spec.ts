import { expect, test } from '@playwright/test';

test('running the memory and speed sweep fills charts and tables', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny#memory');
  await expect(page.getByRole('tab', { name: 'Memory and speed' })).toHaveAttribute('aria-selected', 'true');
  const panel = page.locator('section.memory-speed');
  await panel.getByLabel('lengths').fill('16,32');
  await panel.getByLabel('d_model').fill('8');
  await panel.getByLabel('n_head').fill('2');
  await panel.getByLabel('d_state').fill('4');
  await panel.getByLabel('repeats').fill('1');
  await panel.getByRole('button', { name: 'Run sweep' }).click();

  const timeRows = panel.locator('table.memory-time-table tbody tr');
  await expect(timeRows).toHaveCount(2, { timeout: 120_000 });
  await expect(panel.getByRole('button', { name: 'Run sweep' })).toBeEnabled({ timeout: 60_000 });
  await expect(timeRows.nth(0).locator('td').first()).toHaveText('16');
  await expect(timeRows.nth(1).locator('td').first()).toHaveText('32');
  // Nothing is skipped at these sizes, so the six times are numbers. A ratio is a dash only when Mamba's time is 0.
  for (const row of [0, 1]) {
    const cells = await timeRows.nth(row).locator('td').allTextContents();
    for (const text of cells.slice(1, 7)) expect(Number(text), `time cell ${text} in row ${row}`).toBeGreaterThanOrEqual(0);
    for (const text of cells.slice(7, 9)) expect(text, `ratio cell in row ${row}`).toMatch(/^(\d+(\.\d)?×|—)$/);
  }

  const memoryRows = panel.locator('table.memory-bytes-table tbody tr');
  await expect(memoryRows).toHaveCount(2);
  const bytes = await memoryRows.nth(1).locator('td').allTextContents();
  for (const text of bytes.slice(1, 4)) expect(text, 'peak memory cell').toMatch(/^\d+(\.\d+)? (B|kB|MB)$/);
  expect(bytes[5], 'naive / Mamba memory ratio').toMatch(/^\d+(\.\d)?×$/);
  for (const text of bytes.slice(6, 8)) expect(Number(text), `decoding time cell ${text}`).toBeGreaterThanOrEqual(0);
  // At length 32 and d_model 8 the key-value cache is 2 · 32 · 8 floats of 4 bytes.
  expect(bytes[10], 'attention cache cell').toBe('2 kB');
  expect(bytes[9], 'Mamba state cell').toMatch(/^\d+ B$/);

  // Six time series and three memory series, each measured at both lengths.
  const timeChart = panel.getByRole('img', { name: 'time against sequence length' });
  await expect(timeChart.locator('circle.point')).toHaveCount(12);
  const memoryChart = panel.getByRole('img', { name: 'peak memory against sequence length' });
  await expect(memoryChart.locator('circle.point')).toHaveCount(6);
  await expect(timeChart.locator('text.slope-label')).toHaveCount(6);
  await expect(timeChart.locator('text.slope-label[data-series="Mamba forward + backward"]')).toHaveText(/^slope -?\d+\.\d\d$/);
  await expect(memoryChart.locator('text.slope-label[data-series="naive attention"]')).toHaveText(/^slope -?\d+\.\d\d$/);
  await expect(timeChart).toContainText(/Times: (GPU timestamps|wall time)/);
  const decodeChart = panel.getByRole('img', { name: 'decoding time per token against context length' });
  await expect(decodeChart.locator('circle.point')).toHaveCount(4);
  const sizeChart = panel.getByRole('img', { name: 'state and cache size against context length' });
  await expect(sizeChart.locator('circle.point')).toHaveCount(4);
  // The cache doubles with the context and the state stays the same size, so the fitted slopes are exactly 1 and 0.
  await expect(sizeChart.locator('text.slope-label[data-series="attention key-value cache"]')).toHaveText('slope 1.00');
  await expect(sizeChart.locator('text.slope-label[data-series="Mamba state"]')).toHaveText('slope 0.00');
  await expect(panel.locator('.memory-crossover')).toContainText(/crossover/i);
});

test('a length over device memory is marked, not failed', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny#memory');
  const panel = page.locator('section.memory-speed');
  // At length 65536 the naive block's (n_head, l, l) weights take 8 · 65536² · 4 bytes = 137 GB, over any device's buffer limit.
  await panel.getByLabel('lengths').fill('16,65536');
  await panel.getByLabel('d_model').fill('8');
  await panel.getByLabel('n_head').fill('8');
  await panel.getByLabel('d_state').fill('4');
  await panel.getByLabel('repeats').fill('1');
  await panel.getByRole('button', { name: 'Run sweep' }).click();

  await expect(panel.locator('.memory-crossover')).toBeVisible({ timeout: 150_000 });
  await expect(panel.getByRole('alert')).toHaveCount(0);
  const longest = panel.locator('table.memory-bytes-table tbody tr').nth(1);
  await expect(longest.locator('td').nth(0)).toHaveText('65536');
  await expect(longest.locator('td').nth(1)).toHaveText(/^\d+(\.\d+)? MB$/);
  await expect(longest.locator('td').nth(3)).toHaveText('over memory');
  await expect(longest.locator('td').nth(3)).toHaveAttribute('title', /^exceeds device memory/);

  const memoryChart = panel.getByRole('img', { name: 'peak memory against sequence length' });
  await expect(memoryChart.locator('.memory-band-label')).toHaveText(/exceeds device memory$/);
  await expect(memoryChart.locator('path.skipped-marker')).toHaveCount(1);
  await expect(memoryChart.locator('path.skipped-marker title')).toHaveText(/^naive attention at 65536: exceeds device memory/);
  // Mamba and tiled attention are measured at both lengths, naive attention only at 16.
  await expect(memoryChart.locator('circle.point')).toHaveCount(5);
  await expect(memoryChart).toContainText('naive attention · exceeds device memory at 65536');
});

test('invalid n_head names the value and the fix', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny#memory');
  const panel = page.locator('section.memory-speed');
  await panel.getByLabel('d_model').fill('8');
  await panel.getByLabel('n_head').fill('3');
  await expect(panel.getByRole('alert')).toHaveText('n_head = 3 does not divide d_model = 8: use a divisor of 8, such as 2');
  await expect(panel.getByRole('button', { name: 'Run sweep' })).toBeDisabled();
  await panel.getByLabel('lengths').fill('64,32');
  await expect(panel.getByRole('alert').first()).toContainText('length = 32 after 64 is invalid');
  await panel.getByLabel('n_head').fill('4');
  await panel.getByLabel('lengths').fill('32,64');
  await expect(panel.getByRole('alert')).toHaveCount(0);
  await expect(panel.getByRole('button', { name: 'Run sweep' })).toBeEnabled();
});
