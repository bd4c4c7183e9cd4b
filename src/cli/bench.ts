/**
 * Benchmarks from the command line: `npm run bench -- SUBCOMMAND [options]`.
 * Each subcommand lives in its own module, loaded only when it is chosen, and
 * returns its exit status.
 */

type BenchRunner = (argv: string[]) => Promise<number>;

interface Subcommand {
  summary: string;
  load: () => Promise<BenchRunner>;
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  train: {
    summary: 'time whole training steps of a preset on the WebGPU or the CPU engine',
    load: async () => (await import('./benchTrain')).runTrainBench,
  },
  scan: {
    summary: 'time the selective scan kernels',
    load: async () => (await import('./benchScan')).runScanBench,
  },
  attention: {
    summary: 'compare a Mamba block with an attention block: time, memory and decoding per length',
    load: async () => (await import('./benchAttention')).runAttentionBench,
  },
  targets: {
    summary: "measure the fast scan's speed targets and print each figure beside its target",
    load: async () => (await import('./benchTargets')).runTargetsBench,
  },
};

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

function help(): string {
  const names = Object.keys(SUBCOMMANDS);
  const width = Math.max(...names.map((name) => name.length)) + 2;
  return `Run a benchmark and print its figures.

Usage: npm run bench -- SUBCOMMAND [options]
       tsx src/cli/bench.ts SUBCOMMAND [options]

Subcommands:
${names.map((name) => `  ${name.padEnd(width)}${SUBCOMMANDS[name].summary}`).join('\n')}

Run npm run bench -- SUBCOMMAND --help for the options of one subcommand.
`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const valid = Object.keys(SUBCOMMANDS).join(', ');
  if (name === '--help' || name === '-h') {
    process.stdout.write(help());
    return 0;
  }
  if (name === undefined) {
    process.stderr.write(`bench: missing subcommand: use one of ${valid}, or --help\n`);
    return EXIT_USAGE;
  }
  const subcommand = Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
  if (!subcommand) {
    process.stderr.write(`bench: subcommand ${name} not found: use one of ${valid}\n`);
    return EXIT_USAGE;
  }

  let runner: BenchRunner;
  try {
    runner = await subcommand.load();
  } catch (err) {
    process.stderr.write(`bench: loading the ${name} benchmark failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILED;
  }
  return runner(rest);
}

// Exit explicitly, so the status is main's even if a timer or a GPU handle is still open.
main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (err: unknown) => {
    process.stderr.write(`bench: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(EXIT_FAILED);
  },
);
