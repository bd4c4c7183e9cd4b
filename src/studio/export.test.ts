import { beforeAll, describe, expect, it } from 'vitest';
import { findPreset } from '../presets';
import type { RunConfig } from '../protocol';
import { fieldSpec } from '../store/fields';
import { copyRun } from '../store/url';
import {
  csvCell, exportFileName, gridFileJson, EXTRAPOLATION_CSV_COLUMNS, extrapolationToCsv, metricsToCsv, METRICS_CSV_COLUMNS, resultsToCsv, RESULTS_CSV_COLUMNS, runToJson, RUN_JSON_FORMAT, toCsv,
} from './export';
import { parseGridFile } from '../cli/grid';
import { formatDuration, resultRows } from './results';
import { trainSampleRun } from './sampleRuns';
import type { StudioRun } from './types';

/** Parses RFC 4180 CSV with CRLF line ends into rows of cells. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else {
      cell += c;
    }
  }
  expect(cell).toBe('');
  expect(row).toEqual([]);
  return rows;
}

const tiny = (): RunConfig => ({ ...copyRun(findPreset('e2e-tiny')!.run), max_steps: 30 });

function emptyRun(overrides: Partial<StudioRun> = {}): StudioRun {
  return {
    id: 'r1', name: 'run', config: tiny(), status: 'queued', message: null, step: 0, metrics: [], probe: null,
    parameterCount: 100, engine: null, createdAt: Date.UTC(2024, 0, 2, 3, 4, 5), elapsedMs: 0, paperAccuracy: null, paperRow: null,
    grid: null, paperCurve: null, extrapolation: null, checkpointStep: null, onHold: false,
    ...overrides,
  };
}

describe('csvCell', () => {
  it('writes plain text and numbers as they are', () => {
    expect(csvCell('d_state')).toBe('d_state');
    expect(csvCell(16)).toBe('16');
    expect(csvCell(0.1)).toBe('0.1');
    expect(csvCell(3e-7)).toBe('3e-7');
    expect(csvCell(-0.5)).toBe('-0.5');
    expect(csvCell(1 / 3)).toBe('0.3333333333333333');
  });

  it('leaves missing and non-finite numbers empty', () => {
    expect(csvCell(null)).toBe('');
    expect(csvCell(NaN)).toBe('');
    expect(csvCell(Infinity)).toBe('');
  });

  it('quotes commas, quotes and line breaks', () => {
    expect(csvCell('d_state = 1, seed = 2')).toBe('"d_state = 1, seed = 2"');
    expect(csvCell('the "S4" run')).toBe('"the ""S4"" run"');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('cr\rhere')).toBe('"cr\rhere"');
  });

  it('keeps spreadsheet formulas as text', () => {
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell('+cmd')).toBe("'+cmd");
    expect(csvCell('-x')).toBe("'-x");
    expect(csvCell('@sum')).toBe("'@sum");
    expect(csvCell('=A1,B1')).toBe('"\'=A1,B1"');
  });
});

describe('toCsv', () => {
  it('ends every line with CRLF', () => {
    expect(toCsv(['a', 'b'], [[1, 'x'], [null, 'y, z']])).toBe('a,b\r\n1,x\r\n,"y, z"\r\n');
  });

  it('writes only the header without rows', () => {
    expect(metricsToCsv(emptyRun())).toBe('step,loss,accuracy,elapsed_ms,tokens_per_second\r\n');
  });
});

describe('exports of a trained run', () => {
  let run: StudioRun;
  beforeAll(async () => {
    run = await trainSampleRun({ name: 'd_state = 4, "tiny"', config: tiny() }, 'trained');
  });

  it('writes one CSV row per metrics reading', () => {
    expect(run.metrics).toHaveLength(30);
    const rows = parseCsv(metricsToCsv(run));
    expect(rows[0]).toEqual([...METRICS_CSV_COLUMNS]);
    expect(rows).toHaveLength(run.metrics.length + 1);
    rows.slice(1).forEach((row, i) => {
      const m = run.metrics[i];
      expect(row.map(Number)).toEqual([m.step, m.loss, m.accuracy, m.elapsedMs, m.tokensPerSecond]);
    });
    expect(rows.at(-1)![0]).toBe('30');
  });

  it('writes a grid file the command line reads back', () => {
    const other = { ...run, config: fieldSpec('d_state').write(run.config, 2) };
    const grid = parseGridFile(gridFileJson([run, other]), 'grid.json');
    expect(grid.map((row) => row.config)).toEqual([run.config, other.config]);
    expect(grid.map((row) => row.name)).toEqual(['d_state=4', 'd_state=2']);
  });

  it('writes the config and metrics as JSON', () => {
    const parsed = JSON.parse(runToJson(run));
    expect(parsed.format).toBe(RUN_JSON_FORMAT);
    expect(parsed.version).toBe(1);
    expect(parsed.name).toBe('d_state = 4, "tiny"');
    expect(parsed.config).toEqual(run.config);
    expect(parsed.step).toBe(30);
    expect(parsed.parameterCount).toBe(run.parameterCount);
    expect(parsed.metrics).toEqual(run.metrics);
    expect(parsed.probe).toBeUndefined();
  });

  it('lists the final reading in the results', () => {
    const [row] = resultRows([run], ['tiny']);
    const last = run.metrics.at(-1)!;
    expect(row).toMatchObject({ label: 'tiny', finalAccuracy: last.accuracy, finalLoss: last.loss, steps: 30, elapsedMs: last.elapsedMs });
    expect(row.finalLoss).toBeLessThan(run.metrics[0].loss);
  });
});

describe('runToJson', () => {
  it('writes non-finite readings as null', () => {
    const run = emptyRun({ metrics: [{ step: 1, loss: NaN, accuracy: 0.5, elapsedMs: 10, tokensPerSecond: Infinity }] });
    const parsed = JSON.parse(runToJson(run));
    expect(parsed.metrics).toEqual([{ step: 1, loss: null, accuracy: 0.5, elapsedMs: 10, tokensPerSecond: null }]);
    expect(parsed.createdAt).toBe('2024-01-02T03:04:05.000Z');
  });
});

describe('runToJson of a grid run', () => {
  it('keeps the grid and the points', () => {
    const run = emptyRun({
      grid: 'e2e-extrapolation-tiny',
      paperRow: 'MHA-Abs',
      paperCurve: [{ length: 64, accuracy: 0.996 }],
      extrapolation: [{ length: 128, accuracy: null, status: 'positions beyond max_len', method: null, samples: 0, seconds: 0 }],
    });
    const parsed = JSON.parse(runToJson(run));
    expect(parsed.grid).toBe('e2e-extrapolation-tiny');
    expect(parsed.paperCurve).toEqual(run.paperCurve);
    expect(parsed.extrapolation).toEqual(run.extrapolation);
  });
});

describe('extrapolationToCsv', () => {
  it('writes points beside the paper', () => {
    const run = emptyRun({
      name: 'Attention, absolute',
      grid: 'e2e-extrapolation-tiny',
      paperRow: 'MHA-Abs',
      paperCurve: [
        { length: 64, accuracy: 0.996 },
        { length: 256, accuracy: null },
      ],
      extrapolation: [
        { length: 16, accuracy: 0.625, status: 'ok', method: 'parallel', samples: 8, seconds: 0.5 },
        { length: 64, accuracy: 0.25, status: 'ok', method: 'parallel', samples: 8, seconds: 1.5 },
        { length: 128, accuracy: null, status: 'positions beyond max_len', method: null, samples: 0, seconds: 0 },
      ],
    });
    const rows = parseCsv(extrapolationToCsv([{ run, label: 'attention' }]));
    expect(rows[0]).toEqual([...EXTRAPOLATION_CSV_COLUMNS]);
    const prefix = ['Attention, absolute', 'attention', 'e2e-extrapolation-tiny', 'MHA-Abs', '12'];
    expect(rows.slice(1)).toEqual([
      [...prefix, '16', '0.625', 'ok', 'parallel', '8', '0.5', ''],
      [...prefix, '64', '0.25', 'ok', 'parallel', '8', '1.5', '0.996'],
      [...prefix, '128', '', 'positions beyond max_len', '', '0', '0', ''],
      [...prefix, '256', '', '', '', '', '', ''],
    ]);
  });

  it('writes only the header without points', () => {
    expect(parseCsv(extrapolationToCsv([{ run: emptyRun(), label: 'run' }]))).toEqual([[...EXTRAPOLATION_CSV_COLUMNS]]);
  });
});

describe('resultsToCsv', () => {
  it('writes one row per run with quoted labels', () => {
    const runs = [
      emptyRun({ id: 'a', name: 'S6', step: 40, elapsedMs: 1234.5, paperAccuracy: 0.99, paperRow: 'S6, Mamba', metrics: [{ step: 40, loss: 0.25, accuracy: 0.875, elapsedMs: 1234.5, tokensPerSecond: 900 }] }),
      emptyRun({ id: 'b', name: '=S4', config: fieldSpec('seed').write(tiny(), 7) }),
    ];
    const rows = parseCsv(resultsToCsv(resultRows(runs, ['selective_delta: input-dependent (S6)', 'seed = 7, "fixed"'])));
    expect(rows[0]).toEqual([...RESULTS_CSV_COLUMNS]);
    expect(rows[1]).toEqual([
      'S6', 'selective_delta: input-dependent (S6)', 'queued', 'mamba', 'e2e-tiny', '1', '0.875', '0.99', 'S6, Mamba', '0.25', '100', '40', '1234.5',
    ]);
    expect(rows[2]).toEqual(["'=S4", 'seed = 7, "fixed"', 'queued', 'mamba', 'e2e-tiny', '7', '', '', '', '', '100', '0', '0']);
  });
});

describe('exportFileName', () => {
  it('makes a safe lower-case name', () => {
    expect(exportFileName('d_state = 1, seed = 2', 'csv')).toBe('d_state-1-seed-2.csv');
    expect(exportFileName('selective_delta: fixed (S4)', 'json')).toBe('selective_delta-fixed-s4.json');
    expect(exportFileName('../../etc/passwd', 'json')).toBe('etc-passwd.json');
    expect(exportFileName('Δ über', 'svg')).toBe('delta-uber.svg');
  });

  it('falls back to run and caps the length', () => {
    expect(exportFileName('***', 'png')).toBe('run.png');
    expect(exportFileName('', 'png')).toBe('run.png');
    expect(exportFileName('a'.repeat(200), 'csv')).toBe(`${'a'.repeat(80)}.csv`);
  });
});

describe('formatDuration', () => {
  it('picks a unit by size', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_340)).toBe('12.3 s');
    expect(formatDuration(245_000)).toBe('4 min 05 s');
    expect(formatDuration(7_380_000)).toBe('2 h 03 min');
  });

  it('marks invalid durations', () => {
    expect(formatDuration(NaN)).toBe('–');
    expect(formatDuration(-1)).toBe('–');
  });
});
