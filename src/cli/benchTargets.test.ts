import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ScanBenchPoint } from '../bench/scanBench';
import { formatTargets, scanTargets, type TargetsReport } from './benchTargets';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

function runBench(args: string[]) {
  const result = spawnSync('npx', ['tsx', 'src/cli/bench.ts', 'targets', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 170_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function point(overrides: Partial<ScanBenchPoint> = {}): ScanBenchPoint {
  return {
    length: 4096,
    fused_fwd_ms: 3,
    fused_fwd_bwd_ms: 10,
    materializing_fwd_ms: 40,
    materializing_fwd_bwd_ms: 250,
    copy_ms: 2,
    bytes: 86_000_000,
    ...overrides,
  };
}

describe('scan targets', () => {
  it('compares fused with materializing and copy', () => {
    const [fwdBwd, copy] = scanTargets(point(), 1024);
    expect(fwdBwd).toMatchObject({ name: 'scan-fwd-bwd', measured: 25, required: 20, met: true });
    expect(fwdBwd.detail).toBe('length 4096, d_inner 1024: materializing 250 ms, fused 10.0 ms');
    expect(copy).toMatchObject({ name: 'scan-fwd-copy', measured: 1.5, required: 2, met: true });
  });

  it('misses a target by its figure', () => {
    const [fwdBwd, copy] = scanTargets(point({ materializing_fwd_bwd_ms: 150, fused_fwd_ms: 5 }), 1024);
    expect(fwdBwd).toMatchObject({ measured: 15, met: false });
    expect(copy).toMatchObject({ measured: 2.5, met: false });
  });

  it('reports skipped kernel unmeasured', () => {
    const skipped = point({ materializing_fwd_bwd_ms: null, skipped: { materializing_fwd_bwd: 'over maxStorageBufferBindingSize' } });
    const [fwdBwd] = scanTargets(skipped, 1024);
    expect(fwdBwd).toMatchObject({ measured: null, met: null });
    expect(fwdBwd.detail).toBe('length 4096, d_inner 1024: not measured: over maxStorageBufferBindingSize');
  });

  it('rejects a time of 0 ms', () => {
    const [fwdBwd, copy] = scanTargets(point({ fused_fwd_bwd_ms: 0, copy_ms: 0 }), 32);
    expect(fwdBwd).toMatchObject({ measured: null, met: null });
    expect(copy).toMatchObject({ measured: null, met: null });
    expect(copy.detail).toBe("length 4096, d_inner 32: not measured: a kernel took 0 ms, below the timer's resolution: use a larger --length or --d-inner");
  });

  it('formats a table row per target', () => {
    const report: TargetsReport = {
      bench: 'targets',
      device: 'Test GPU',
      targets: [...scanTargets(point(), 1024), { name: 'small-cpu', measured: 2400, required: 2500, unit: 'tokens/s', met: false, detail: 'slow' }],
    };
    const lines = formatTargets(report).split('\n');
    expect(lines[0]).toBe('Speed targets on Test GPU');
    expect(lines[4]).toMatch(/^scan-fwd-bwd\s+25 x faster\s+at least 20 x faster\s+yes$/);
    expect(lines[5]).toMatch(/^scan-fwd-copy\s+1\.5 x the copy\s+at most 2 x the copy\s+yes$/);
    expect(lines[6]).toMatch(/^small-cpu\s+2,400 tokens\/s\s+at least 2,500 tokens\/s\s+no$/);
    expect(lines.at(-1)).toBe('small-cpu: slow');
  });
});

describe('bench targets command line', () => {
  it('help lists every target and option', () => {
    const { status, stdout } = runBench(['--help']);
    expect(status).toBe(0);
    for (const word of ['scan-fwd-bwd', 'scan-fwd-copy', 'train-fused', 'small-webgpu', 'small-cpu', '--length', '--d-inner', '--repeats', '--steps', '--warmup', '--json']) {
      expect(stdout).toContain(word);
    }
  });

  it('rejects invalid options by name', () => {
    const { status, stderr } = runBench(['--length', '0', '--repeats', 'abc']);
    expect(status).toBe(2);
    expect(stderr).toContain('--length = 0 is out of range');
    expect(stderr).toContain('--repeats = abc is invalid');
  });

  it('measures targets at tiny size', () => {
    // The copy must take more than one tick of the GPU timer, which 64 × 32 floats sometimes did not.
    const { status, stdout, stderr } = runBench(['--length', '512', '--d-inner', '64', '--repeats', '1', '--steps', '1', '--warmup', '0', '--json']);
    expect(status, stderr).toBe(0);
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as TargetsReport;
    expect(report.bench).toBe('targets');
    expect(report.targets.map((t) => t.name)).toEqual(['scan-fwd-bwd', 'scan-fwd-copy', 'train-fused', 'small-webgpu', 'small-cpu']);
    for (const target of report.targets) {
      expect(target.measured, target.detail).toBeGreaterThan(0);
      expect(target.met).toBe(target.name === 'scan-fwd-copy' ? target.measured! <= 2 : target.measured! >= target.required);
    }
    expect(stderr).toContain('Speed targets on');
  }, 180_000);
});
