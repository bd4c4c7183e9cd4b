import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Runs the command line under tsx, as `npm run bench` does, and returns its status and output. */
function runCli(args: string[]) {
  const result = spawnSync('npx', ['tsx', 'src/cli/bench.ts', ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 110_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('bench scan command line', () => {
  it('scan help lists every option', () => {
    const { status, stdout } = runCli(['scan', '--help']);
    expect(status).toBe(0);
    for (const option of ['scan', '--lengths', '--d-inner', '--d-state', '--repeats', '--json', '--help']) {
      expect(stdout).toContain(option);
    }
    expect(stdout).toContain('default: 512,1024,2048,4096,8192,16384,32768,65536');
  });

  it('invalid lengths exit with 2', () => {
    const { status, stderr } = runCli(['scan', '--lengths', '512,abc,0']);
    expect(status).toBe(2);
    expect(stderr).toContain('--lengths entry = abc is invalid');
    expect(stderr).toContain('--lengths entry = 0 is out of range');
  });

  it('too large d_state exits with 2', () => {
    const { status, stderr } = runCli(['scan', '--d-state', '65']);
    expect(status).toBe(2);
    expect(stderr).toContain('--d-state = 65 is out of range');
  });

  it('tiny scan run prints JSON', () => {
    const { status, stdout, stderr } = runCli(['scan', '--lengths', '64', '--d-inner', '8', '--repeats', '1', '--json']);
    expect(status, stderr).toBe(0);

    const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(Object.keys(result).sort()).toEqual(['bench', 'd_inner', 'd_state', 'device', 'points', 'timing']);
    expect(result.bench).toBe('scan');
    expect(result.d_inner).toBe(8);
    expect(result.d_state).toBe(16);
    expect(['gpu-timestamps', 'wall']).toContain(result.timing);
    expect(result.points).toHaveLength(1);
    const [point] = result.points;
    expect(point.length).toBe(64);
    for (const key of ['fused_fwd_ms', 'fused_fwd_bwd_ms', 'materializing_fwd_ms', 'materializing_fwd_bwd_ms']) {
      expect(point[key], key).toBeGreaterThan(0);
    }
    // SwiftShader's timestamps advance in steps of 65.536 µs, so this tiny copy can measure 0.
    expect(point.copy_ms).toBeGreaterThanOrEqual(0);
    expect(point.bytes).toBeGreaterThan(0);
    expect(point.skipped).toBeUndefined();
    expect(stderr).toContain('fused fwd');
  });
});
