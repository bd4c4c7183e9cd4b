import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { findPreset, PRESETS } from '../presets';
import { GRID_PRESETS } from '../studio/paperPresets';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Runs the command line under tsx, as `npm run train` does, and returns its status and output. */
function runCli(args: string[]) {
  const result = spawnSync('npx', ['tsx', 'src/cli/train.ts', ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 110_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('train command line', () => {
  it('help lists every option', () => {
    const { status, stdout } = runCli(['--help']);
    expect(status).toBe(0);
    for (const option of [
      '--preset',
      '--steps',
      '--engine',
      '--seed',
      '--lr',
      '--batch-size',
      '--seq-len',
      '--log-interval-ms',
      '--json',
      '--grid',
      '--out',
      '--eval-sequences',
      '--max-eval-length',
      '--help',
    ]) {
      expect(stdout).toContain(option);
    }
    for (const preset of PRESETS) expect(stdout).toContain(preset.name);
    for (const grid of GRID_PRESETS) expect(stdout).toContain(grid.name);
  });

  it('unknown preset exits with 2', () => {
    const { status, stderr } = runCli(['--preset', 'no-such-preset', '--steps', '1']);
    expect(status).toBe(2);
    expect(stderr).toContain('no-such-preset');
    expect(stderr).toContain('selective-copying-small');
  });

  it('non-numeric steps exits with 2', () => {
    const { status, stderr } = runCli(['--preset', 'e2e-tiny', '--steps', 'abc']);
    expect(status).toBe(2);
    expect(stderr).toContain('--steps = abc is invalid');
  });

  it('zero steps exits with 2', () => {
    const { status, stderr } = runCli(['--preset', 'e2e-tiny', '--steps', '0']);
    expect(status).toBe(2);
    expect(stderr).toContain('--steps = 0 is out of range');
  });

  it('unknown option exits with 2', () => {
    const { status, stderr } = runCli(['--stepz', '5']);
    expect(status).toBe(2);
    expect(stderr).toContain('--stepz');
  });

  it('unknown engine exits with 2', () => {
    const { status, stderr } = runCli(['--preset', 'e2e-tiny', '--engine', 'tpu']);
    expect(status).toBe(2);
    expect(stderr).toContain('--engine tpu is invalid');
  });

  it('too short seq-len exits with 2', () => {
    // e2e-tiny copies 2 data tokens, so a sequence needs at least 4 tokens.
    const { status, stderr } = runCli(['--preset', 'e2e-tiny', '--seq-len', '3']);
    expect(status).toBe(2);
    expect(stderr).toContain('n_data = 2 does not fit in seq_len = 3');
  });

  it('cpu run prints JSON summary', () => {
    const { status, stdout, stderr } = runCli(['--preset', 'e2e-tiny', '--steps', '5', '--engine', 'cpu', '--json']);
    expect(status, stderr).toBe(0);

    const lines = stdout.trim().split('\n');
    const summary = JSON.parse(lines.at(-1)!);
    expect(Object.keys(summary).sort()).toEqual(
      ['accuracy', 'device', 'engine', 'loss', 'preset', 'steps', 'tokens_per_second', 'wall_s'].sort(),
    );
    expect(summary.preset).toBe('e2e-tiny');
    expect(summary.steps).toBe(5);
    expect(summary.engine).toBe('cpu');
    expect(summary.device).toBe('CPU');
    expect(summary.loss).toBeGreaterThan(0);
    expect(summary.accuracy).toBeGreaterThanOrEqual(0);
    expect(summary.accuracy).toBeLessThanOrEqual(1);
    expect(summary.wall_s).toBeGreaterThan(0);
    expect(summary.tokens_per_second).toBeGreaterThan(0);
    expect(stderr).toContain('Final step');
  });

  it('seed override repeats the loss', () => {
    const args = ['--preset', 'e2e-tiny', '--steps', '3', '--engine', 'cpu', '--seed', '7', '--log-interval-ms', '0', '--json'];
    const first = JSON.parse(runCli(args).stdout.trim().split('\n').at(-1)!);
    const second = JSON.parse(runCli(args).stdout.trim().split('\n').at(-1)!);
    expect(second.loss).toBe(first.loss);
  });
});

describe('train command line grids', () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'train-grid-'));
  afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

  /** Writes runs as a grid file in the temporary folder and returns its path. */
  function writeGridFile(name: string, runs: unknown[]): string {
    const file = path.join(folder, name);
    fs.writeFileSync(file, JSON.stringify(runs));
    return file;
  }
  const tiny = findPreset('e2e-tiny')!.run;

  it('table 1 grid writes results files', () => {
    const out = path.join(folder, 'table1');
    const { status, stdout, stderr } = runCli(['--preset', 'paper-table1-small', '--steps', '2', '--eval-sequences', '4', '--out', out]);
    expect(status, stderr).toBe(0);

    const csv = fs.readFileSync(path.join(out, 'results.csv'), 'utf8').trimEnd().split('\n');
    expect(csv).toHaveLength(7);
    expect(csv[0].startsWith('run,block,selective_delta,selective_B,selective_C,status,accuracy,')).toBe(true);
    expect(csv[1].startsWith('S4 no gate,no-gate,false,false,false,done,')).toBe(true);
    expect(csv[6].startsWith('Mamba with S6,mamba,true,true,true,done,')).toBe(true);
    expect(csv[6].endsWith(',0.998,Mamba with S6')).toBe(true);
    // Without --json the same CSV goes to stdout, and the aligned table to stderr.
    expect(stdout.trimEnd().split('\n')).toEqual(csv);
    expect(stderr).toMatch(/Mamba with S6\s+mamba\s+true\s+true\s+true\s+\d+\.\d%\s+99\.8%/);
    expect(fs.existsSync(path.join(out, 'extrapolation.csv'))).toBe(false);

    const report = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(report.grid).toBe('paper-table1-small');
    expect(report.engine).toBe('CPU');
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.differing_fields).toEqual(['block', 'selective_delta', 'selective_B', 'selective_C']);
    expect(report.runs).toHaveLength(6);
    for (const row of report.runs) {
      expect(row.status).toBe('done');
      expect(row.steps).toBe(2);
      expect(row.accuracy).toBeGreaterThanOrEqual(0);
      expect(row.accuracy).toBeLessThanOrEqual(1);
      expect(row.parameters).toBeGreaterThan(0);
    }
    expect(report.runs[0]).toMatchObject({ run: 'S4 no gate', block: 'no-gate', selective_B: false, paper_accuracy: 0.183 });
    // H3's in_proj makes q, k and v, so it has more parameters than the gated Mamba block.
    expect(report.runs[3].parameters).toBeGreaterThan(report.runs[5].parameters);
  });

  it('extrapolation grid scores every length', () => {
    const args = ['--preset', 'induction-extrapolation-small', '--steps', '2', '--eval-sequences', '3', '--max-eval-length', '128', '--json'];
    const { status, stdout, stderr } = runCli(args);
    expect(status, stderr).toBe(0);

    const report = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(report.runs.map((row: { run: string }) => row.run)).toEqual(['Mamba', 'Attention, rotary', 'Attention, absolute']);
    const point = (run: string, length: number) =>
      report.extrapolation.find((p: { run: string; length: number }) => p.run === run && p.length === length);
    for (const length of [16, 32, 64, 128]) {
      expect(point('Mamba', length)).toMatchObject({ status: 'ok', method: 'recurrent', samples: 3, paper_accuracy: 1 });
      expect(point('Attention, rotary', length)).toMatchObject({ status: 'ok', method: 'parallel' });
    }
    // The paper's rotary attention at 2 and 8 times its training length, matched by multiple.
    expect(point('Attention, rotary', 32).paper_accuracy).toBe(0.836);
    expect(point('Attention, rotary', 128).paper_accuracy).toBe(0.184);
    expect(point('Attention, absolute', 64)).toMatchObject({ status: 'ok', method: 'parallel' });
    expect(point('Attention, absolute', 128)).toMatchObject({ status: 'positions beyond max_len', accuracy: null });
    expect(point('Mamba', 256)).toBeUndefined();
    expect(stderr).toContain('length 128: positions beyond max_len');
  });

  it('grid file names runs by field', () => {
    const file = writeGridFile('b.json', [tiny, { ...tiny, model: { ...tiny.model, selective_B: false } }]);
    const out = path.join(folder, 'file');
    const { status, stdout, stderr } = runCli(['--grid', file, '--steps', '2', '--eval-sequences', '2', '--out', out]);
    expect(status, stderr).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0].startsWith('run,selective_B,status,')).toBe(true);
    expect(lines[1].startsWith('selective_B=true,true,done,')).toBe(true);
    expect(lines[2].startsWith('selective_B=false,false,done,')).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')).grid).toBe('b');
  });

  it('preset with out writes one row', () => {
    const out = path.join(folder, 'single');
    const { status, stderr } = runCli(['--preset', 'e2e-tiny', '--steps', '2', '--engine', 'cpu', '--eval-sequences', '2', '--out', out]);
    expect(status, stderr).toBe(0);
    const csv = fs.readFileSync(path.join(out, 'results.csv'), 'utf8').trimEnd().split('\n');
    expect(csv).toHaveLength(2);
    expect(csv[0].startsWith('run,status,accuracy,')).toBe(true);
    expect(csv[1].startsWith('e2e-tiny,done,')).toBe(true);
  });

  it('invalid grid file exits with 2', () => {
    const file = writeGridFile('bad.json', [tiny, { ...tiny, train: { ...tiny.train, seq_len: 3 } }]);
    const { status, stderr } = runCli(['--grid', file, '--steps', '1']);
    expect(status).toBe(2);
    expect(stderr).toContain('bad.json, run 2: n_data = 2 does not fit in seq_len = 3');
  });

  it('grid file of no runs exits with 2', () => {
    const { status, stderr } = runCli(['--grid', writeGridFile('empty.json', []), '--steps', '1']);
    expect(status).toBe(2);
    expect(stderr).toContain('must contain a non-empty JSON list of run configs');
  });

  it('missing grid file exits with 2', () => {
    const { status, stderr } = runCli(['--grid', path.join(folder, 'missing.json')]);
    expect(status).toBe(2);
    expect(stderr).toContain('missing.json could not be read');
  });

  it('grid and preset together exit with 2', () => {
    const { status, stderr } = runCli(['--grid', 'runs.json', '--preset', 'e2e-tiny']);
    expect(status).toBe(2);
    expect(stderr).toContain('--grid and --preset are both given');
  });

  it('too small max-eval-length exits with 2', () => {
    const { status, stderr } = runCli(['--preset', 'induction-extrapolation-small', '--max-eval-length', '8']);
    expect(status).toBe(2);
    expect(stderr).toContain('--max-eval-length 8 drops every test length: use at least 16');
  });
});
