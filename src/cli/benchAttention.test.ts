import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { MemorySpeedPoint } from '../bench/memorySpeedTypes';
import { formatRatio, formatSkipped, formatSlopes, parseAttentionArgs, UsageError } from './benchAttention';

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

/** Returns the UsageError message that parsing argv raises, or fails the test. */
function usageError(argv: string[]): string {
  try {
    parseAttentionArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error(`parsing ${argv.join(' ')} did not fail`);
}

describe('bench attention arguments', () => {
  it('defaults cover 2^8 to 2^20', () => {
    const options = parseAttentionArgs([]);
    expect(options).not.toBeNull();
    expect(options!.lengths).toHaveLength(13);
    expect(options!.lengths[0]).toBe(256);
    expect(options!.lengths.at(-1)).toBe(1_048_576);
    expect(options!.dModel).toBe(512);
    expect(options!.nHead).toBe(8);
    expect(options!.dState).toBe(16);
    expect(options!.repeats).toBe(3);
    expect(options!.json).toBe(false);
    expect(options!.wallClock).toBe(false);
  });

  it('every option is read', () => {
    const options = parseAttentionArgs([
      '--lengths', '1024,256,1024', '--d-model', '64', '--n-head', '4', '--d-state', '8', '--repeats', '2', '--json', '--wall-clock',
    ]);
    // Lengths come back sorted without repeats.
    expect(options).toEqual({ lengths: [256, 1024], dModel: 64, nHead: 4, dState: 8, repeats: 2, json: true, wallClock: true });
  });

  it('help returns null', () => {
    expect(parseAttentionArgs(['--help'])).toBeNull();
    expect(parseAttentionArgs(['-h', '--d-model', 'abc'])).toBeNull();
  });

  it('every invalid option is named', () => {
    const message = usageError(['--lengths', '256,abc,0', '--d-model', '2000', '--d-state', '65', '--repeats', '1.5']);
    expect(message).toContain('--lengths entry = abc is invalid');
    expect(message).toContain('--lengths entry = 0 is out of range');
    expect(message).toContain('(in --lengths 256,abc,0)');
    expect(message).toContain('--d-model = 2000 is out of range: use an integer from 1 to 1024');
    expect(message).toContain('--d-state = 65 is out of range: use an integer from 1 to 64');
    expect(message).toContain('--repeats = 1.5 is invalid: it must be an integer');
  });

  it('n_head must divide d_model', () => {
    expect(usageError(['--d-model', '96', '--n-head', '7'])).toBe('--n-head = 7 does not divide --d-model = 96: choose a divisor of 96, such as 6');
  });

  it('unknown options and arguments fail', () => {
    expect(usageError(['--lenghts', '256'])).toContain("Unknown option '--lenghts'");
    expect(usageError(['--d-model'])).toContain("Option '--d-model <value>' argument missing");
    expect(usageError(['scan'])).toBe('unexpected argument scan: the attention benchmark takes only options');
  });
});

describe('bench attention output', () => {
  it('ratio is attention over mamba', () => {
    expect(formatRatio(8, 2)).toBe('4.00x');
    expect(formatRatio(null, 2)).toBe('-');
    expect(formatRatio(8, 0)).toBe('-');
  });

  it('skipped lines group series by reason', () => {
    const point = {
      length: 4096,
      skipped: { attention_naive_fwd_ms: 'too big', attention_naive_bytes: 'too big', attention_fwd_ms: 'too slow' },
    } as unknown as MemorySpeedPoint;
    expect(formatSkipped([point])).toEqual([
      '  length 4096: naive attention fwd, naive attention memory: too big',
      '  length 4096: attention fwd: too slow',
    ]);
  });

  it('slopes print two decimals or a dash', () => {
    const lines = formatSlopes({ mamba_bytes: 1.0234, attention_naive_bytes: null });
    expect(lines).toHaveLength(13);
    expect(lines.find((line) => line.includes('mamba memory'))).toMatch(/1\.02$/);
    expect(lines.find((line) => line.includes('naive attention memory'))).toMatch(/-$/);
    expect(lines.find((line) => line.includes('KV cache'))).toMatch(/-$/);
  });
});

describe('bench attention command line', () => {
  it('attention help lists every option', () => {
    const { status, stdout } = runCli(['attention', '--help']);
    expect(status).toBe(0);
    for (const option of ['--lengths', '--d-model', '--n-head', '--d-state', '--repeats', '--wall-clock', '--json', '--help']) {
      expect(stdout).toContain(option);
    }
  });

  it('invalid option exits with 2', () => {
    const { status, stderr } = runCli(['attention', '--n-head', '3', '--d-model', '64']);
    expect(status).toBe(2);
    expect(stderr).toContain('bench: --n-head = 3 does not divide --d-model = 64');
    expect(stderr).toContain('Run with --help');
  });

  it('tiny attention run prints JSON', () => {
    const { status, stdout, stderr } = runCli([
      'attention', '--lengths', '33,16', '--d-model', '8', '--n-head', '2', '--d-state', '4', '--repeats', '1', '--json',
    ]);
    expect(status, stderr).toBe(0);

    const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(Object.keys(result).sort()).toEqual(['bench', 'crossover_length', 'd_model', 'd_state', 'device', 'n_head', 'points', 'slopes', 'timing']);
    expect(result.bench).toBe('attention');
    expect([result.d_model, result.n_head, result.d_state]).toEqual([8, 2, 4]);
    expect(result.points.map((p: MemorySpeedPoint) => p.length)).toEqual([16, 33]);
    for (const point of result.points as MemorySpeedPoint[]) {
      for (const key of ['mamba_fwd_ms', 'mamba_fwd_bwd_ms', 'attention_fwd_ms', 'attention_fwd_bwd_ms', 'mamba_decode_ms_per_token', 'attention_decode_ms_per_token'] as const) {
        // SwiftShader's timestamps advance in steps of 65.536 µs, so a tiny pass can measure 0.
        expect(point[key], key).toBeGreaterThanOrEqual(0);
      }
      expect(point.mamba_bytes).toBeGreaterThan(0);
      expect(point.attention_decode_cache_bytes).toBe(2 * 4 * 8 * point.length);
      expect(point.skipped).toEqual({});
    }
    expect(result.slopes.attention_decode_cache_bytes).toBeCloseTo(1, 10);
    expect(stderr).toContain('attn/mamba f+b');
    expect(stderr).toContain('Slopes of log(value) against log(length)');
    expect(stderr).toContain('Crossover');
  });
});
