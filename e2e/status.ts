/** Helpers that read the numbers shown in the status line and the heatmaps. */
import { expect, type Page } from '@playwright/test';

export interface StatusReading {
  text: string;
  step: number;
  /** null until the first metrics arrive. */
  loss: number | null;
  accuracy: number | null;
}

/** Parses "Training · step 120 · loss 1.23 · accuracy 56.2% · WebGPU (…)"; a small loss reads "1.23e-6". */
export function parseStatus(text: string): StatusReading {
  const step = /step (\d+)/.exec(text);
  const loss = /loss (\d+(?:\.\d+)?(?:e[-+]?\d+)?)/.exec(text);
  const accuracy = /accuracy (\d+(?:\.\d+)?)%/.exec(text);
  return {
    text,
    step: step ? Number(step[1]) : NaN,
    loss: loss ? Number(loss[1]) : null,
    accuracy: accuracy ? Number(accuracy[1]) / 100 : null,
  };
}

export async function readStatus(page: Page): Promise<StatusReading> {
  return parseStatus((await page.getByRole('status').textContent()) ?? '');
}

/**
 * Polls the status line until the step reaches `minStep` and at least `minReadings`
 * distinct readings with a loss were seen. Returns those readings, oldest first.
 */
export async function collectUntilStep(page: Page, minStep: number, timeoutMs: number, minReadings = 1): Promise<StatusReading[]> {
  const readings: StatusReading[] = [];
  await expect
    .poll(
      async () => {
        const reading = await readStatus(page);
        const last = readings[readings.length - 1];
        if (reading.loss !== null && reading.step > 0 && reading.step !== last?.step) readings.push(reading);
        return reading.step >= minStep && readings.length >= minReadings;
      },
      {
        timeout: timeoutMs,
        intervals: [200],
        message: `training did not reach step ${minStep} with ${minReadings} metric readings`,
      },
    )
    .toBe(true);
  return readings;
}

/** Number of coloured cells in a heatmap, from its data-cells attribute. */
export async function drawnCells(page: Page, label: string): Promise<number> {
  return Number(await page.getByRole('img', { name: label, exact: true }).getAttribute('data-cells'));
}
