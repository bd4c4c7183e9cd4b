import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PRESETS } from '../presets';
import { median } from './benchTrain';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Runs the bench command line under tsx, as `npm run bench` does, and returns its status and output. */
function runBench(args: string[]) {
  const result = spawnSync('npx', ['tsx', 'src/cli/bench.ts', ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 110_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const SUMMARY_KEYS = ['bench', 'device', 'engine', 'ms_per_step', 'preset', 'steps', 'tokens_per_second'];

describe('bench command line', () => {
  it('help lists subcommands', () => {
    const { status, stdout } = runBench(['--help']);
    expect(status).toBe(0);
    expect(stdout).toContain('train');
    expect(stdout).toContain('scan');
  });

  it('unknown subcommand exits with 2', () => {
    const { status, stderr } = runBench(['warp']);
    expect(status).toBe(2);
    expect(stderr).toContain('subcommand warp not found');
    expect(stderr).toContain('train, scan');
  });

  it('missing subcommand exits with 2', () => {
    const { status, stderr } = runBench([]);
    expect(status).toBe(2);
    expect(stderr).toContain('missing subcommand');
  });

  it('train help lists every option', () => {
    const { status, stdout } = runBench(['train', '--help']);
    expect(status).toBe(0);
    for (const option of ['--preset', '--engine', '--steps', '--warmup', '--json', '--profile', '--help']) {
      expect(stdout).toContain(option);
    }
    for (const preset of PRESETS) expect(stdout).toContain(preset.name);
  });

  it('train rejects every invalid option', () => {
    const { status, stderr } = runBench(['train', '--preset', 'huge', '--engine', 'tpu', '--steps', '0', '--warmup', 'abc']);
    expect(status).toBe(2);
    expect(stderr).toContain('--preset huge not found');
    expect(stderr).toContain('--engine tpu is invalid');
    expect(stderr).toContain('--steps = 0 is out of range');
    expect(stderr).toContain('--warmup = abc is invalid');
  });

  it('train rejects profile on cpu', () => {
    const { status, stderr } = runBench(['train', '--engine', 'cpu', '--profile']);
    expect(status).toBe(2);
    expect(stderr).toContain('--profile is invalid with --engine cpu');
  });

  it('train rejects fractional steps', () => {
    const { status, stderr } = runBench(['train', '--steps', '2.5']);
    expect(status).toBe(2);
    expect(stderr).toContain('--steps = 2.5 is invalid');
  });

  it('train rejects unknown option', () => {
    const { status, stderr } = runBench(['train', '--stepz', '2']);
    expect(status).toBe(2);
    expect(stderr).toContain('--stepz');
  });

  it('train on cpu prints JSON summary', () => {
    const { status, stdout, stderr } = runBench(['train', '--preset', 'e2e-tiny', '--engine', 'cpu', '--steps', '3', '--warmup', '1', '--json']);
    expect(status, stderr).toBe(0);
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(Object.keys(summary).sort()).toEqual(SUMMARY_KEYS);
    expect(summary.bench).toBe('train');
    expect(summary.preset).toBe('e2e-tiny');
    expect(summary.engine).toBe('cpu');
    expect(summary.device).toBe('CPU');
    expect(summary.steps).toBe(3);
    expect(summary.ms_per_step).toBeGreaterThan(0);
    // e2e-tiny has 8 sequences of 12 tokens per step.
    expect(summary.tokens_per_second).toBeCloseTo((96 / summary.ms_per_step) * 1000, -1);
    expect(stderr).toContain('Median ms/step');
  });

  it('train on webgpu prints JSON summary', () => {
    const { status, stdout, stderr } = runBench(['train', '--preset', 'e2e-tiny', '--engine', 'webgpu', '--steps', '2', '--warmup', '1', '--json']);
    expect(status, stderr).toBe(0);
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(Object.keys(summary).sort()).toEqual(SUMMARY_KEYS);
    expect(summary.engine).toBe('webgpu');
    expect(summary.device).toMatch(/^WebGPU/);
    expect(summary.steps).toBe(2);
    expect(summary.ms_per_step).toBeGreaterThan(0);
    expect(summary.tokens_per_second).toBeGreaterThan(0);
  });

  it('train profile lists kernels', () => {
    const { status, stdout, stderr } = runBench(['train', '--preset', 'e2e-tiny', '--steps', '2', '--warmup', '0', '--profile', '--json']);
    expect(status, stderr).toBe(0);
    // The table goes to stderr with --json, so stdout still ends with the summary.
    expect(Object.keys(JSON.parse(stdout.trim().split('\n').at(-1)!)).sort()).toEqual(SUMMARY_KEYS);
    expect(stderr).toContain('GPU time per kernel');
    for (const kernel of ['matmul', 'selective_scan_forward', 'adamw_update']) expect(stderr).toContain(kernel);
    expect(stderr).toMatch(/total\s+\d+\s+\d+\.\d+/);
  });

  it('train profile follows the scan choice', () => {
    const { status, stdout, stderr } = runBench(['train', '--preset', 'e2e-tiny', '--steps', '1', '--warmup', '0', '--profile', '--scan', 'fused']);
    expect(status, stderr).toBe(0);
    expect(stdout).toContain('selective_scan_fused_forward');
    expect(stdout).toContain('selective_scan_fused_backward');
  });

  it('train rejects an unknown scan', () => {
    const { status, stderr } = runBench(['train', '--scan', 'parallel']);
    expect(status).toBe(2);
    expect(stderr).toContain('--scan parallel is invalid: use fused or simple');
  });
});

describe('median', () => {
  it('median of odd count', () => {
    expect(median([5, 1, 3])).toBe(3);
  });

  it('median of even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
