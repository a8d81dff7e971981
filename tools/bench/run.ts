import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../../src/common/paths';
import { BenchContext, BenchOptions, say } from './harness';
import { renderTable, ScenarioReport, withVerdicts } from './report';
import { SCENARIOS } from './scenarios';

const USAGE = `Usage: npm run bench -- [scenario…] [--quick] [--rounds N] [--size-mib N] [--chunk-mib N] [--duration S] [--profile] [--list]
       node dist/tools/bench/run.js [scenario…] [options]

  scenario…      which scenarios to run (default: all): ${SCENARIOS.map((s) => s.name).join(', ')}
  --quick        smaller sizes for a smoke run (upload: 256 MiB instead of 2 GiB)
  --size-mib N   upload scenario: file size in MiB
  --rounds N     upload scenario: gateway runs, each followed by a baseline run (default 1); medians reported
  --chunk-mib N  DROPBOX_UPLOAD_CHUNK_MIB for the app (multiple of 4, 4–148; default: env or 8)
  --duration S   soak scenario: seconds of mixed traffic (default 60, 10 with --quick)
  --out FILE     where to write the JSON results (default: bench-results/latest.json)
  --profile      write a V8 CPU profile of each measured phase to bench-results/profiles/
  --list         list the scenarios and exit

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres, else an embedded server),
BENCH_REDIS_URL (default redis://127.0.0.1:6379, else a redis-server of its own), BENCH_LOG_LEVEL (default silent).
Targets are reported (PASS/MISS), not asserted: the exit code is non-zero only when a scenario fails to run.`;

function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: not a positive integer: ${value}`);
  return n;
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      'size-mib': { type: 'string' },
      'chunk-mib': { type: 'string' },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(12)} ${s.description}\n`);
    return 0;
  }
  const unknown = positionals.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`unknown scenario(s): ${unknown.join(', ')}\n\n${USAGE}`);
  const selected = positionals.length > 0 ? SCENARIOS.filter((s) => positionals.includes(s.name)) : SCENARIOS;
  const options: BenchOptions = {
    quick: values.quick ?? false,
    sizeMiB: positiveInteger('--size-mib', values['size-mib']),
    chunkMiB: positiveInteger('--chunk-mib', values['chunk-mib']),
    rounds: positiveInteger('--rounds', values.rounds),
    durationSeconds: positiveInteger('--duration', values.duration),
    profileDir: values.profile ? join(PROJECT_ROOT, 'bench-results', 'profiles') : undefined,
  };
  const outFile = values.out ?? join(PROJECT_ROOT, 'bench-results', 'latest.json');

  const startedAt = new Date();
  const ctx = new BenchContext(options);
  // Ctrl-C still drops the database, deletes the Redis keys and the 2 GiB file.
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    say(`${signal}: cleaning up…`);
    void ctx.close().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const reports: ScenarioReport[] = [];
  try {
    for (const scenario of selected) {
      say(`scenario ${scenario.name}: ${scenario.description}`);
      const t0 = performance.now();
      try {
        const result = await scenario.run(ctx);
        reports.push({
          name: scenario.name,
          description: scenario.description,
          ok: true,
          durationMs: Math.round(performance.now() - t0),
          figures: withVerdicts(result.figures),
          details: result.details,
        });
      } catch (err) {
        say(`scenario ${scenario.name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        reports.push({
          name: scenario.name,
          description: scenario.description,
          ok: false,
          error: err instanceof Error ? err.message : String(err),
          durationMs: Math.round(performance.now() - t0),
          figures: [],
        });
      }
    }
  } finally {
    const problems = await ctx.close();
    for (const problem of problems) say(`cleanup: ${problem}`);
  }

  process.stdout.write(renderTable(reports));
  const results = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    commit: gitCommit(),
    node: process.version,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30) },
    options,
    scenarios: reports,
  };
  mkdirSync(join(outFile, '..'), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\nResults written to ${outFile}\n`);
  return reports.every((r) => r.ok) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
