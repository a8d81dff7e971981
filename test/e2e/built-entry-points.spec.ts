import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ensureBuilt } from '../support/build';
import { createTestDatabase, TestDatabase } from '../support/database';
import { deleteRedisPrefix, testRedisUrl, uniqueRedisPrefix } from '../support/redis';

const ROOT = join(__dirname, '..', '..');

/**
 * The compiled worker (`node dist/src/worker.js`, what docker compose and `npm run start:worker` run) starts, logs
 * through the app's logger and stops cleanly on SIGTERM. The specs that run a worker start it from the sources, where
 * its lazy import()s are compiled away; only the built program takes nestjs-pino's ES module build through them (it
 * once failed at start: "Nest could not find Logger element").
 */
describe('the built worker', () => {
  let database: TestDatabase;
  const prefix = uniqueRedisPrefix();
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    await ensureBuilt();
    database = await createTestDatabase();
  }, 180_000);
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await deleteRedisPrefix(prefix).catch(() => undefined);
    await database?.release();
  });

  it('starts, logs through the app logger and stops on SIGTERM without an error', async () => {
    let output = '';
    const worker = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'worker.js')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        DATABASE_URL: database.url,
        REDIS_URL: testRedisUrl(),
        REDIS_PREFIX: prefix,
        SESSION_SECRET: randomBytes(32).toString('base64'),
        ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = worker;
    worker.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      worker.once('exit', (code, signal) => resolve({ code, signal })),
    );

    const started = await Promise.race([
      new Promise<boolean>((resolve) => {
        const check = () => (output.includes('worker started') ? resolve(true) : setTimeout(check, 50));
        check();
      }),
      exited.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 60_000)),
    ]);
    expect({ started, output: started ? '' : output.slice(-2000) }).toEqual({ started: true, output: '' });
    // A JSON line from pino: the app's logger, not Nest's console fallback.
    const line = output.split('\n').find((l) => l.includes('worker started'))!;
    expect(JSON.parse(line)).toMatchObject({ msg: expect.stringMatching(/^worker started \(concurrency \d+\)$/) });

    const before = output.length;
    worker.kill('SIGTERM');
    // Nest closes the app (BullMQ workers, Redis, PostgreSQL), then sends itself the signal again to end.
    expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(output.slice(before)).not.toMatch(/error|exception|\n\s+at /i);
  }, 120_000);
});
