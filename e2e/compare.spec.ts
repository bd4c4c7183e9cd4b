/**
 * The Compare view in Chromium. The first tests open the built app with a comparison
 * link in the URL. The others open a test page (e2e/compare-harness) that trains four
 * small runs with the CPU engine and renders the view with their results; Vite's dev
 * server, started here on 127.0.0.1, serves that page.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Download, type Locator, type Page } from '@playwright/test';
import type { ViteDevServer } from 'vite';
import { findPreset } from '../src/presets';
import type { RunConfig } from '../src/protocol';
import type { StudioRun } from '../src/studio/types';
import { fieldSpec } from '../src/store/fields';
import { copyRun, encodeRunQuery } from '../src/store/url';
import { COMPARE_PARAM, encodeCompareLink, readCompareParam } from '../src/studio/compareLink';

// Runs in the studio train for a set number of steps, so linked runs have max_steps > 0.
const tinyWithDState = (dState: number): RunConfig =>
  fieldSpec('d_state').write({ ...copyRun(findPreset('e2e-tiny')!.run), engine: 'cpu', max_steps: 20 }, dState);

/** Rows of the results table, without its header. */
const resultRows = (page: Page) => page.locator('.results-table tbody tr');

test.describe('Compare tab opened from a link', () => {
  test('a comparison link lists its runs by their differences', async ({ page }) => {
    const value = encodeCompareLink([{ config: tinyWithDState(1) }, { config: tinyWithDState(4) }]);
    await page.goto(`/?preset=e2e-tiny&engine=cpu&${COMPARE_PARAM}=${value}#compare`);

    await expect(page.getByRole('tab', { name: 'Compare' })).toHaveAttribute('aria-selected', 'true');
    await expect(resultRows(page)).toHaveCount(2);
    await expect(resultRows(page).nth(0).locator('.run-label')).toHaveText('d_state = 1');
    await expect(resultRows(page).nth(1).locator('.run-label')).toHaveText('d_state = 4');
    await expect(resultRows(page).nth(0)).toContainText('queued');
    // Queued runs have no readings and no probe yet, and the view shows what to do.
    await expect(page.getByRole('img', { name: /^loss curves: d_state = 1; d_state = 4$/ })).toHaveAttribute('data-points', '0');
    await expect(page.getByText('No readings yet: train the runs to draw their curves').first()).toBeVisible();
    await expect(page.getByText('No probe yet: train this run').first()).toBeVisible();
    // The app writes its run config into the URL, and beside it the configs of the listed runs.
    await expect
      .poll(() => readCompareParam(new URL(page.url()).search)?.runs.map((run) => run.config))
      .toEqual([tinyWithDState(1), tinyWithDState(4)]);
    await expect(page).toHaveURL(/d_state=4/);

    await page.getByRole('button', { name: 'Copy comparison link' }).click();
    const link = await page.getByLabel('comparison link').inputValue();
    const decoded = readCompareParam(new URL(link).search)!;
    expect(decoded.messages).toEqual([]);
    expect(decoded.runs.map((run) => run.config)).toEqual([tinyWithDState(1), tinyWithDState(4)]);
    expect(new URL(link).hash).toBe('#compare');
  });

  test('a tampered link names the run, field and value', async ({ page }) => {
    const edited = encodeRunQuery(tinyWithDState(4)).replace('d_state=4', 'd_state=abc');
    const value = await tamperedLink(tinyWithDState(1), edited);
    await page.goto(`/?preset=e2e-tiny&engine=cpu&${COMPARE_PARAM}=${value}#compare`);

    const alert = page.locator('.compare-link-messages');
    await expect(alert).toContainText('Run 2 ("edited"): d_state = "abc" is not a number');
    await expect(alert).toContainText("the run uses its preset's value instead");
    await expect(resultRows(page)).toHaveCount(2);
    // The edited run falls back to the e2e-tiny preset's d_state = 4.
    await expect(resultRows(page).nth(1).locator('.run-label')).toHaveText('d_state = 4');
  });

  test('an unreadable link is pointed out on the Train view', async ({ page }) => {
    await page.goto(`/?preset=e2e-tiny&engine=cpu&${COMPARE_PARAM}=v1.not-a-comparison`);
    const summary = page.getByRole('alert').filter({ hasText: 'The comparison in the link had a problem' });
    await expect(summary).toBeVisible();
    await summary.getByRole('button', { name: 'Show them in Compare' }).click();
    await expect(page.locator('.compare-link-messages')).toContainText('The comparison link could not be read');
    await expect(summary).toHaveCount(0);
  });

  test('an unreadable link still opens the app', async ({ page }) => {
    await page.goto(`/?preset=e2e-tiny&engine=cpu&${COMPARE_PARAM}=v1.not-a-comparison#compare`);
    await expect(page.locator('.compare-link-messages')).toContainText('The comparison link could not be read');
    await expect(page.getByText('No runs to compare yet.')).toBeVisible();
    await page.getByRole('tab', { name: 'Train' }).click();
    await expect(page.getByRole('status')).toContainText('Ready');
  });
});

/** Builds a link whose second run has a hand-edited query string. */
async function tamperedLink(first: RunConfig, secondQuery: string): Promise<string> {
  const { deflateSync, strToU8 } = await import('fflate');
  const json = JSON.stringify({ runs: [{ name: 'one', query: encodeRunQuery(first) }, { name: 'edited', query: secondQuery }] });
  return `v1.${Buffer.from(deflateSync(strToU8(json))).toString('base64url')}`;
}

test.describe('Compare view with trained runs', () => {
  let server: ViteDevServer;
  let pageUrl: string;

  test.beforeAll(async () => {
    const { createServer } = await import('vite');
    server = await createServer({
      configFile: path.resolve('vite.config.ts'),
      // A cache of its own, so that this server never rewrites the one the app's dev server uses.
      cacheDir: path.join(os.tmpdir(), 'mamba-playground-compare-vite'),
      logLevel: 'warn',
      server: { host: '127.0.0.1', port: 4180, strictPort: false, hmr: false, watch: null },
    });
    await server.listen();
    pageUrl = new URL('e2e/compare-harness/index.html', server.resolvedUrls!.local[0]).toString();
  });

  test.afterAll(async () => {
    await server?.close();
  });

  async function openTrained(page: Page): Promise<StudioRun[]> {
    await page.goto(pageUrl);
    await expect(page.locator('body')).toHaveAttribute('data-ready', 'true', { timeout: 120_000 });
    return page.evaluate(() => {
      const runs = (window as unknown as { compareRuns: StudioRun[] }).compareRuns;
      // Float32Arrays do not survive evaluate's serialisation, so the probes stay in the page.
      return runs.map((run) => ({ ...run, probe: null }));
    });
  }

  const labels = [
    'Mamba, selective_delta: input-dependent (S6), d_state = 4',
    'Mamba, selective_delta: fixed (S4), d_state = 4',
    'Mamba, selective_delta: input-dependent (S6), d_state = 1',
    'Transformer',
  ];

  test('trained runs overlay their curves and fill the results table', async ({ page }) => {
    const runs = await openTrained(page);
    const loss = page.getByRole('img', { name: /^loss curves: / });
    await expect(loss).toHaveAttribute('data-series', '4');
    await expect(loss).toHaveAttribute('data-points', String(4 * 40));
    await expect(page.getByRole('img', { name: /^accuracy curves: / })).toHaveAttribute('data-points', String(4 * 40));
    await expect(loss.locator('.legend-item text')).toHaveText(labels);
    // Each line has its own colour.
    const strokes = await loss.locator('path.line').evaluateAll((paths) => paths.map((p) => getComputedStyle(p).stroke));
    expect(new Set(strokes).size).toBe(4);

    await expect(resultRows(page).locator('.run-label')).toHaveText(labels);
    for (const [i, run] of runs.entries()) {
      const cells = resultRows(page).nth(i).locator('td');
      const accuracy = run.metrics.at(-1)!.accuracy;
      await expect(cells.nth(1)).toHaveText(`${(accuracy * 100).toFixed(1)}%`);
      await expect(resultRows(page).nth(i)).toContainText('done');
    }
    // Only the first run reproduces a paper row, and its published accuracy sits beside it.
    await expect(page.locator('.results-table thead')).toContainText('Paper');
    await expect(resultRows(page).nth(0).locator('td').nth(2)).toContainText('99.7%');
    await expect(resultRows(page).nth(0).locator('td').nth(2)).toContainText('Mamba, S6 layer');
    await expect(resultRows(page).nth(1).locator('td').nth(2)).toHaveText('–');
  });

  test('hiding a run drops its curve and its place in the link', async ({ page }) => {
    await openTrained(page);
    await page.getByLabel('Show Transformer in the charts').uncheck();
    await expect(page.getByRole('img', { name: /^loss curves: / })).toHaveAttribute('data-series', '3');
    await expect(resultRows(page)).toHaveCount(4);

    await page.getByRole('button', { name: 'Copy comparison link' }).click();
    const link = await page.getByLabel('comparison link').inputValue();
    const decoded = readCompareParam(new URL(link).search)!;
    expect(decoded.runs.map((run) => run.name)).toEqual(['S6', 'S4', 'small state']);
  });

  test('Δ of two runs shares one colour scale', async ({ page }) => {
    await openTrained(page);
    const s6 = page.getByRole('img', { name: `Δ heatmap of ${labels[0]}, layer 1` });
    const s4 = page.getByRole('img', { name: `Δ heatmap of ${labels[1]}, layer 1` });
    for (const heatmap of [s6, s4]) {
      await expect(heatmap).toHaveAttribute('data-cells', String(12 * 32));
    }
    const domain = await s6.getAttribute('data-domain');
    expect(domain).toMatch(/^[\d.e-]+,[\d.e-]+$/);
    await expect(s4).toHaveAttribute('data-domain', domain!);

    // Selective Δ depends on the token, so a channel's row is not flat.
    const spread = await page.evaluate(() => {
      const run = (window as unknown as { compareRuns: StudioRun[] }).compareRuns[0];
      const { delta, d_inner: dInner, tokens } = run.probe!;
      let max = 0;
      for (let c = 0; c < dInner; c++) {
        const row = tokens.map((_, t) => delta[0][t * dInner + c]);
        max = Math.max(max, Math.max(...row) - Math.min(...row));
      }
      return max;
    });
    expect(spread).toBeGreaterThan(1e-4);

    await page.getByLabel('right run').selectOption({ label: 'Transformer' });
    await expect(page.getByText('Δ does not exist for a Transformer')).toBeVisible();
    await expect(page.getByRole('img', { name: 'Attention weights of Transformer, layer 1' })).toHaveAttribute('data-cells', /^[1-9]\d*$/);
    await expect(s4).toHaveCount(0);
  });

  test('runs and charts download as JSON, CSV, SVG and PNG', async ({ page }) => {
    const runs = await openTrained(page);

    const csv = await downloadText(page, page.getByRole('button', { name: `Download the metrics of ${labels[0]} as CSV` }));
    expect(csv.name).toBe('mamba-selective_delta-input-dependent-s6-d_state-4.csv');
    const lines = csv.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('step,loss,accuracy,elapsed_ms,tokens_per_second');
    expect(lines).toHaveLength(41);
    const first = runs[0].metrics[0];
    expect(lines[1].split(',').map(Number)).toEqual([first.step, first.loss, first.accuracy, first.elapsedMs, first.tokensPerSecond]);

    const json = await downloadText(page, page.getByRole('button', { name: 'Download Transformer as JSON' }));
    const parsed = JSON.parse(json.text);
    expect(parsed.config).toEqual(runs[3].config);
    expect(parsed.metrics).toHaveLength(40);

    const results = await downloadText(page, page.getByRole('button', { name: 'Download the results table as CSV' }));
    expect(results.name).toBe('results.csv');
    expect(results.text.trimEnd().split('\r\n')).toHaveLength(5);

    const svg = await downloadText(page, page.getByRole('button', { name: 'Download loss curves as SVG' }));
    expect(svg.name).toBe('loss-curves.svg');
    expect(svg.text).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg.text).not.toContain('var(--');
    const lineStyles = [...svg.text.matchAll(/<path class="line"[^>]*style="([^"]*)"/g)].map((m) => m[1]);
    expect(lineStyles).toHaveLength(4);
    for (const style of lineStyles) expect(style).toMatch(/stroke: ?rgb\(\d+, \d+, \d+\)/);
    for (const label of labels) expect(svg.text).toContain(`>${label}</text>`);

    const heatmapTitle = `Δ of ${labels[0]}, layer 1`;
    const heatmapSvg = await downloadText(page, page.getByRole('button', { name: `Download ${heatmapTitle} as SVG` }));
    expect(heatmapSvg.text).toContain('<image class="heatmap-cells"');
    expect(heatmapSvg.text).toMatch(/href="data:image\/png;base64,[A-Za-z0-9+/=]+"/);

    const heatmap = page.getByRole('img', { name: `Δ heatmap of ${labels[0]}, layer 1` });
    const size = await heatmap.evaluate((root) => {
      const svgElement = root.querySelector('svg')!;
      const canvas = root.querySelector('canvas')!.getBoundingClientRect();
      return { width: Number(svgElement.getAttribute('width')), height: Number(svgElement.getAttribute('height')), cellArea: canvas.width * canvas.height };
    });
    const png = await download(page, page.getByRole('button', { name: `Download ${heatmapTitle} as PNG` }));
    expect(png.name).toBe('delta-of-mamba-selective_delta-input-dependent-s6-d_state-4-layer-1.png');
    expect(png.bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    // IHDR contains the width and height at bytes 16 to 23; the image is drawn at twice the CSS size.
    expect(png.bytes.readUInt32BE(16)).toBe(Math.round(size.width * 2));
    expect(png.bytes.readUInt32BE(20)).toBe(Math.round(size.height * 2));
    // The cells come from the canvas under the overlay, so most of their area is coloured.
    const coloured = await page.evaluate(async (base64) => {
      const bitmap = await createImageBitmap(await (await fetch(`data:image/png;base64,${base64}`)).blob());
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const context = canvas.getContext('2d')!;
      context.drawImage(bitmap, 0, 0);
      const { data } = context.getImageData(0, 0, bitmap.width, bitmap.height);
      let count = 0;
      for (let i = 0; i < data.length; i += 4) {
        const max = Math.max(data[i], data[i + 1], data[i + 2]);
        const min = Math.min(data[i], data[i + 1], data[i + 2]);
        if (max - min > 60) count++;
      }
      return count;
    }, png.bytes.toString('base64'));
    expect(coloured).toBeGreaterThan(size.cellArea * 4 * 0.6);
  });
});

async function download(page: Page, button: Locator): Promise<{ name: string; bytes: Buffer }> {
  const [file]: [Download, void] = await Promise.all([page.waitForEvent('download'), button.click()]);
  const filePath = await file.path();
  return { name: file.suggestedFilename(), bytes: await fs.readFile(filePath) };
}

async function downloadText(page: Page, button: Locator): Promise<{ name: string; text: string }> {
  const { name, bytes } = await download(page, button);
  return { name, text: bytes.toString('utf8') };
}
