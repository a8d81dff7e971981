import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../../src/common/paths';
import { BenchContext, BenchOptions, Scenario, say } from './harness';
import { renderTable, ScenarioReport, withVerdicts } from './report';
import { SCENARIOS } from './scenarios';

/** Set in a scenario's own process (see --same-process): it writes its JSON and leaves the table to the parent. */
const ONE_SCENARIO_ENV = 'BENCH_ONE_SCENARIO';

const USAGE = `Usage: npm run bench -- [scenario…] [--quick] [--rounds N] [--size-mib N] [--chunk-mib N] [--duration S] [--profile] [--same-process] [--list]
       node dist/tools/bench/run.js [scenario…] [options]

  scenario…      which scenarios to run (default: all): ${SCENARIOS.map((s) => s.name).join(', ')}
  --quick        smaller sizes for a smoke run (upload: 256 MiB instead of 2 GiB)
  --size-mib N   upload scenario: file size in MiB
  --rounds N     upload scenario: gateway runs, each followed by a baseline run (default 1); medians reported
  --chunk-mib N  DROPBOX_UPLOAD_CHUNK_MIB for the app (multiple of 4, 4–148; default: env or 8)
  --duration S   soak scenario: seconds of mixed traffic (default 60, 10 with --quick)
  --out FILE     where to write the JSON results (default: bench-results/latest.json)
  --profile      write a V8 CPU profile of each measured phase to bench-results/profiles/
  --same-process run the selected scenarios one after another in this process; by default each runs in a
                 process of its own, so no memory figure starts from what an earlier scenario left behind
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
      'same-process': { type: 'boolean', default: false },
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
  const ownProcesses = selected.length > 1 && !values['same-process'];
  const reports = ownProcesses ? await runEach(selected, childArgs(values)) : await runHere(selected, options);

  if (process.env[ONE_SCENARIO_ENV]) {
    writeResults(outFile, { scenarios: reports });
    return reports.every((r) => r.ok) ? 0 : 1;
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
  writeResults(outFile, results);
  process.stdout.write(`\nResults written to ${outFile}\n`);
  return reports.every((r) => r.ok) ? 0 : 1;
}

/** The scenarios one after another in this process, on one shared context (database, Redis, emulator, app). */
async function runHere(selected: Scenario[], options: BenchOptions): Promise<ScenarioReport[]> {
  const ctx = new BenchContext(options);
  // Ctrl-C still drops the database, deletes the Redis keys and the 2 GiB file; a second one, later, stops at once.
  // A repeat within a second is the same Ctrl-C: npx passes the terminal's signal on to the process that got it too.
  let interruptedAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interruptedAt) {
      if (Date.now() - interruptedAt > 1_000) process.exit(130);
      return;
    }
    interruptedAt = Date.now();
    say(`${signal}: cleaning up…`);
    void ctx
      .close()
      .then((problems) => problems.forEach((problem) => say(`cleanup: ${problem}`)))
      .finally(() => process.exit(130));
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

  return reports;
}

/**
 * Each scenario in a Node process of its own (this script again, with the same options and NODE_OPTIONS), one at a
 * time: a scenario's peak RSS then starts from a fresh process, not from the heap and caches the scenarios before
 * it left behind (the ZIP scenario used to start 300+ MB above a fresh process in a full run).
 */
async function runEach(selected: Scenario[], args: string[]): Promise<ScenarioReport[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pd-bench-'));
  const reports: ScenarioReport[] = [];
  // Ctrl-C reaches the running scenario's process from the terminal, which cleans up and stops; this one waits for
  // it, then runs no further scenario.
  let stopped = false;
  const onSignal = () => (stopped = true);
  process.on('SIGINT', onSignal);
  try {
    for (const scenario of selected) {
      if (stopped) break;
      const out = join(dir, `${scenario.name}.json`);
      const t0 = performance.now();
      const code = await new Promise<number>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [...process.execArgv, process.argv[1], scenario.name, ...args, '--out', out],
          { stdio: 'inherit', env: { ...process.env, [ONE_SCENARIO_ENV]: '1' } },
        );
        // A SIGTERM sent to this process alone is passed on.
        const forward = () => {
          stopped = true;
          child.kill('SIGTERM');
        };
        process.once('SIGTERM', forward);
        child.on('error', reject);
        child.on('exit', (exitCode, signal) => {
          process.removeListener('SIGTERM', forward);
          resolve(exitCode ?? (signal ? 128 : 1));
        });
      });
      const written = readReports(out);
      reports.push(
        ...(written ?? [
          {
            name: scenario.name,
            description: scenario.description,
            ok: false,
            error: `its process exited with code ${code} before writing results`,
            durationMs: Math.round(performance.now() - t0),
            figures: [],
          },
        ]),
      );
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    rmSync(dir, { recursive: true, force: true });
  }
  return reports;
}

function readReports(file: string): ScenarioReport[] | null {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { scenarios: ScenarioReport[] }).scenarios;
  } catch {
    return null;
  }
}

/** The options a scenario's own process gets: the ones given here, but the scenario list and --out. */
function childArgs(values: Record<string, string | boolean | undefined>): string[] {
  const args: string[] = [];
  for (const flag of ['quick', 'profile']) if (values[flag]) args.push(`--${flag}`);
  for (const option of ['size-mib', 'chunk-mib', 'duration', 'rounds']) {
    const value = values[option];
    if (typeof value === 'string') args.push(`--${option}`, value);
  }
  return args;
}

function writeResults(file: string, results: object): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
