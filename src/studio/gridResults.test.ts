import { describe, expect, it } from 'vitest';
import { PAPER_TABLE1_SMALL, INDUCTION_EXTRAPOLATION_SMALL } from './paperPresets';
import {
  buildResultsTable, csvCell, differingPaths, extrapolationCsv, flattenRun, formatResultsText, runsCsv, type RunOutcome,
} from './gridResults';

function outcome(index: number, grid = PAPER_TABLE1_SMALL, extra: Partial<RunOutcome> = {}): RunOutcome {
  const run = grid.runs[index];
  return {
    name: run.name,
    config: run.config,
    paperAccuracy: run.paperAccuracy,
    paperRow: run.paperRow,
    paperCurve: run.paperCurve,
    status: 'done',
    message: null,
    steps: 10,
    parameters: 1000 + index,
    trainLoss: 1.5,
    trainAccuracy: 0.25,
    accuracy: 0.5 + index / 100,
    evalSequences: 8,
    trainSeconds: 1.23,
    wallSeconds: 2.34,
    engine: 'CPU',
    extrapolation: null,
    ...extra,
  };
}

describe('flattenRun', () => {
  it('fills Mamba ablation defaults', () => {
    const flat = flattenRun(PAPER_TABLE1_SMALL.runs[5].config);
    expect(flat['model.block']).toBe('mamba');
    expect(flat['model.selective_B']).toBe(true);
    expect(flat['model.architecture']).toBe('mamba');
    expect(flat['train.seq_len']).toBe(64);
    expect(flat['task.n_data']).toBe(4);
    expect('preset' in flat).toBe(false);
    expect('engine' in flat).toBe(false);
  });
});

describe('differingPaths', () => {
  it('table 1 differs in block and selection', () => {
    expect(differingPaths(PAPER_TABLE1_SMALL.runs.map((run) => run.config))).toEqual([
      'model.block', 'model.selective_delta', 'model.selective_B', 'model.selective_C',
    ]);
  });

  it('ignores fields one architecture lacks', () => {
    const paths = differingPaths(INDUCTION_EXTRAPOLATION_SMALL.runs.map((run) => run.config));
    expect(paths).toContain('model.architecture');
    expect(paths).toContain('model.positions');
    expect(paths).toContain('model.max_len');
    expect(paths).not.toContain('model.d_state');
    expect(paths).not.toContain('model.n_head');
  });

  it('one run has no differing fields', () => {
    expect(differingPaths([PAPER_TABLE1_SMALL.runs[0].config])).toEqual([]);
  });
});

describe('buildResultsTable', () => {
  it('rows carry fields and paper accuracy', () => {
    const table = buildResultsTable('paper-table1-small', PAPER_TABLE1_SMALL.runs.map((_, i) => outcome(i)));
    expect(table.differingFields).toEqual(['block', 'selective_delta', 'selective_B', 'selective_C']);
    expect(table.rows).toHaveLength(6);
    expect(table.rows[0]).toEqual({
      run: 'S4 no gate',
      fields: { block: 'no-gate', selective_delta: false, selective_B: false, selective_C: false },
      status: 'done',
      accuracy: 0.5,
      train_accuracy: 0.25,
      train_loss: 1.5,
      parameters: 1000,
      steps: 10,
      train_s: 1.2,
      wall_s: 2.3,
      paper_accuracy: 0.183,
      paper_row: 'S4 no gate',
    });
    expect(table.rows[5].paper_accuracy).toBe(0.998);
    expect(table.extrapolation).toEqual([]);
  });

  it('unmeasured accuracy becomes null', () => {
    const table = buildResultsTable('g', [outcome(0, PAPER_TABLE1_SMALL, { accuracy: Number.NaN, status: 'error' })]);
    expect(table.rows[0].accuracy).toBeNull();
    expect(table.rows[0].status).toBe('error');
  });

  it('extrapolation rows pair paper values', () => {
    const grid = INDUCTION_EXTRAPOLATION_SMALL;
    const table = buildResultsTable(grid.name, [
      outcome(2, grid, {
        extrapolation: [
          { length: 64, accuracy: 0.75, status: 'ok', method: 'parallel', samples: 4, seconds: 0.1 },
          { length: 512, accuracy: null, status: 'positions beyond max_len', method: null, samples: 0, seconds: 0 },
        ],
      }),
    ]);
    expect(table.extrapolation).toEqual([
      { run: 'Attention, absolute', length: 64, accuracy: 0.75, status: 'ok', method: 'parallel', samples: 4, seconds: 0.1, paper_accuracy: 0.266 },
      {
        run: 'Attention, absolute', length: 512, accuracy: null, status: 'positions beyond max_len', method: null, samples: 0,
        seconds: 0, paper_accuracy: 0.109,
      },
    ]);
  });
});

describe('CSV', () => {
  it('csvCell quotes commas and quotes', () => {
    expect(csvCell('Attention, rotary')).toBe('"Attention, rotary"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell(0.5)).toBe('0.5');
    expect(csvCell(false)).toBe('false');
    expect(csvCell(null)).toBe('');
  });

  it('runsCsv has one line per run', () => {
    const table = buildResultsTable('paper-table1-small', [outcome(0), outcome(5)]);
    const lines = runsCsv(table).trimEnd().split('\n');
    expect(lines[0]).toBe(
      'run,block,selective_delta,selective_B,selective_C,status,accuracy,train_accuracy,train_loss,parameters,steps,train_s,wall_s,paper_accuracy,paper_row',
    );
    expect(lines[1]).toBe('S4 no gate,no-gate,false,false,false,done,0.5,0.25,1.5,1000,10,1.2,2.3,0.183,S4 no gate');
    expect(lines[2]).toBe('Mamba with S6,mamba,true,true,true,done,0.55,0.25,1.5,1005,10,1.2,2.3,0.998,Mamba with S6');
    expect(lines).toHaveLength(3);
  });

  it('runsCsv writes status where unmeasured', () => {
    const grid = INDUCTION_EXTRAPOLATION_SMALL;
    const table = buildResultsTable(grid.name, [
      outcome(2, grid, {
        extrapolation: [
          { length: 64, accuracy: 1, status: 'ok', method: 'parallel', samples: 4, seconds: 0.1 },
          { length: 512, accuracy: null, status: 'positions beyond max_len', method: null, samples: 0, seconds: 0 },
        ],
      }),
    ]);
    const [header, line] = runsCsv(table).trimEnd().split('\n');
    expect(header.endsWith('paper_row,accuracy_at_64,accuracy_at_512')).toBe(true);
    expect(line.endsWith('MHA-Abs,1,positions beyond max_len')).toBe(true);
    expect(extrapolationCsv(table).trimEnd().split('\n')).toEqual([
      'run,length,accuracy,status,method,samples,seconds,paper_accuracy',
      '"Attention, absolute",64,1,ok,parallel,4,0.1,0.266',
      '"Attention, absolute",512,,positions beyond max_len,,0,0,0.109',
    ]);
  });
});

describe('formatResultsText', () => {
  it('prints accuracy beside paper', () => {
    const text = formatResultsText(buildResultsTable('paper-table1-small', [outcome(0), outcome(5)]));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^run\s+block\s+selective_delta\s+selective_B\s+selective_C\s+accuracy\s+paper\s+parameters\s+steps\s+train time$/);
    expect(lines[2]).toMatch(/^S4 no gate\s+no-gate\s+false\s+false\s+false\s+50\.0%\s+18\.3%\s+1000\s+10\s+1\.2 s$/);
    expect(lines[3]).toMatch(/^Mamba with S6\s+mamba\s+true\s+true\s+true\s+55\.0%\s+99\.8%/);
  });

  it('prints a line per run and length', () => {
    const grid = INDUCTION_EXTRAPOLATION_SMALL;
    const text = formatResultsText(
      buildResultsTable(grid.name, [
        outcome(0, grid, {
          extrapolation: [
            { length: 64, accuracy: 1, status: 'ok', method: 'recurrent', samples: 4, seconds: 0.1 },
            { length: 128, accuracy: 0.5, status: 'ok', method: 'recurrent', samples: 4, seconds: 0.1 },
          ],
        }),
      ]),
    );
    expect(text).toMatch(/accuracy at length\s+64\s+128/);
    expect(text).toMatch(/Mamba\s+100\.0%\s+50\.0%/);
    expect(text).toMatch(/paper Mamba\s+100\.0%\s+100\.0%/);
  });
});
