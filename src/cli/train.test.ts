import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PRESETS } from '../presets';

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
      '--help',
    ]) {
      expect(stdout).toContain(option);
    }
    for (const preset of PRESETS) expect(stdout).toContain(preset.name);
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
