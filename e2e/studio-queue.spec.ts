import { expect, test } from '@playwright/test';

test('queued runs finish and return after a reload', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny&engine=cpu');
  await page.getByRole('tab', { name: 'Compare', exact: true }).click();
  // The list shows this once the saved runs, none in a new browser profile, are read.
  await expect(page.getByText('No runs yet.')).toBeVisible();

  // Two runs of e2e-tiny on the CPU engine: the Train view's config, and a copy with another seed.
  await page.getByLabel('Steps per run').fill('20');
  await page.getByRole('button', { name: 'Add the Train view’s config' }).click();
  await expect(page.getByRole('textbox', { name: 'Name of run 1' })).toHaveValue('e2e-tiny');
  await page.getByRole('button', { name: 'Duplicate e2e-tiny and change one field' }).click();
  const duplicate = page.getByRole('form', { name: 'Duplicate e2e-tiny' });
  await duplicate.getByLabel('Field to change').selectOption('seed');
  await duplicate.getByLabel('New value').fill('2');
  await duplicate.getByRole('button', { name: 'Add copy' }).click();
  await expect(page.getByRole('textbox', { name: 'Name of run 2' })).toHaveValue('seed = 2');
  // The differences column: the first run is the baseline, and the copy differs in its seed.
  const runsPanel = page.getByRole('region', { name: 'Runs', exact: true });
  await expect(runsPanel.getByText('first run', { exact: true })).toBeVisible();
  await expect(runsPanel.getByText('seed = 2', { exact: true })).toBeVisible();

  const first = page.getByRole('progressbar', { name: 'Progress of e2e-tiny', exact: true });
  const second = page.getByRole('progressbar', { name: 'Progress of seed = 2', exact: true });
  await expect(first).toHaveJSProperty('max', 20);
  await expect(second).toHaveJSProperty('value', 0);

  await page.getByRole('button', { name: 'Start queue' }).click();
  await expect(first).toHaveJSProperty('value', 20, { timeout: 120_000 });
  await expect(second).toHaveJSProperty('value', 20, { timeout: 120_000 });
  await expect(page.getByRole('cell', { name: /^Done · loss \S+ · accuracy \S+%$/ })).toHaveCount(2);
  await expect(page.getByRole('button', { name: 'Start queue' })).toBeDisabled();
  await expect(page.getByText('Queue idle. 40 of 40 steps.')).toBeVisible();

  // Each finished run's final weights are in their own object store, at step 20.
  const weights = await page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('mamba-playground-studio');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const records = await new Promise<{ step: number; params: Float32Array }[]>((resolve, reject) => {
      const request = db.transaction('weights').objectStore('weights').getAll();
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    db.close();
    return records.map((record) => ({ step: record.step, isFloat32: record.params instanceof Float32Array, length: record.params.length }));
  });
  expect(weights).toHaveLength(2);
  for (const record of weights) {
    expect(record.step).toBe(20);
    expect(record.isFloat32).toBe(true);
    expect(record.length).toBeGreaterThan(2000);
  }

  // The finished runs are written to IndexedDB just after their weights, so reload once both records show them done.
  await expect
    .poll(() =>
      page.evaluate(async () => {
        const db = await new Promise<IDBDatabase>((resolve, reject) => {
          const request = indexedDB.open('mamba-playground-studio');
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        const records = await new Promise<{ run: { status: string; step: number } }[]>((resolve, reject) => {
          const request = db.transaction('runs').objectStore('runs').getAll();
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        db.close();
        return records.map((record) => `${record.run.status} at ${record.run.step}`);
      }),
    )
    .toEqual(['done at 20', 'done at 20']);

  await page.reload();
  await expect(page.getByRole('tab', { name: 'Compare', exact: true })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByRole('textbox', { name: 'Name of run 1' })).toHaveValue('e2e-tiny');
  await expect(page.getByRole('textbox', { name: 'Name of run 2' })).toHaveValue('seed = 2');
  await expect(page.getByRole('progressbar', { name: 'Progress of e2e-tiny', exact: true })).toHaveJSProperty('value', 20);
  await expect(page.getByRole('progressbar', { name: 'Progress of seed = 2', exact: true })).toHaveJSProperty('value', 20);
  await expect(page.getByRole('cell', { name: /^Done · loss \S+ · accuracy \S+%$/ })).toHaveCount(2);
});

test('paused run resumes after reload', async ({ page }) => {
  await page.goto('/?preset=e2e-tiny&engine=cpu');
  await page.getByRole('tab', { name: 'Compare', exact: true }).click();
  await expect(page.getByText('No runs yet.')).toBeVisible();
  await page.getByLabel('Steps per run').fill('100000');
  await page.getByRole('button', { name: 'Add the Train view’s config' }).click();
  const progress = page.getByRole('progressbar', { name: 'Progress of e2e-tiny', exact: true });
  const stepOf = async () => Number(await progress.evaluate((element) => (element as HTMLProgressElement).value));

  await page.getByRole('button', { name: 'Start queue' }).click();
  await expect.poll(stepOf, { timeout: 60_000 }).toBeGreaterThanOrEqual(3000);
  await page.getByRole('button', { name: 'Pause queue' }).click();
  const status = page.getByRole('cell', { name: /^Paused · / });
  await expect(status).toBeVisible();
  const pausedAt = await stepOf();
  expect(pausedAt).toBeGreaterThanOrEqual(3000);

  // A new page has no engine in the worker: the run resumes from the checkpoint saved at the pause.
  await page.reload();
  await expect(page.getByRole('cell', { name: `Paused · resumes from step ${pausedAt}`, exact: false })).toBeVisible();
  expect(await stepOf()).toBe(pausedAt);
  await page.getByRole('button', { name: 'Start queue' }).click();
  // The engine is built before the run reports 'Training'; fresh weights would have set the step to 0.
  await expect(page.getByRole('cell', { name: /^Training/ })).toBeVisible();
  expect(await stepOf()).toBeGreaterThanOrEqual(pausedAt);
  await expect.poll(stepOf, { timeout: 60_000 }).toBeGreaterThan(pausedAt + 1000);
  await page.getByRole('button', { name: 'Pause queue' }).click();
  await expect(page.getByRole('cell', { name: /^Paused · loss / })).toBeVisible();
});
