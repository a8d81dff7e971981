import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createTestDatabase } from '../support/database';
import { testRedisUrl, uniqueRedisPrefix } from '../support/redis';

const ROOT = join(__dirname, '..', '..');

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs an entry point of src/ as its own process, as `npm start` would after a build. */
function runEntry(entry: string, env: Record<string, string>, untilStdout?: RegExp): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', './test/support/register-ts.js', entry], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (untilStdout?.test(stdout)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const goodEnv = () => ({
  SESSION_SECRET: randomBytes(32).toString('base64'),
  ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  LOG_LEVEL: 'info',
});

describe('process entry points', () => {
  it.each([
    ['DATABASE_URL', { DATABASE_URL: 'nonsense' }, /DATABASE_URL must be a postgres:\/\/ URL/],
    ['PORT', { DATABASE_URL: 'postgres://u@h/db', PORT: '-1' }, /PORT must be an integer between 1 and 65535/],
    [
      'SESSION_SECRET',
      { DATABASE_URL: 'postgres://u@h/db', SESSION_SECRET: 'short' },
      /SESSION_SECRET must be at least 32/,
    ],
  ])('web exits non-zero naming %s when it is malformed', async (_name, bad, message) => {
    const result = await runEntry('src/main.ts', { ...goodEnv(), ...bad });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });

  it('the worker refuses bad configuration the same way', async () => {
    const result = await runEntry('src/worker.ts', { ...goodEnv(), DATABASE_URL: 'nonsense' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/DATABASE_URL/);
  });

  it('the worker starts without HTTP and stops cleanly on SIGTERM', async () => {
    const database = await createTestDatabase();
    try {
      const result = await runEntry(
        'src/worker.ts',
        { ...goodEnv(), DATABASE_URL: database.url, REDIS_URL: testRedisUrl(), REDIS_PREFIX: uniqueRedisPrefix() },
        /worker started/,
      );
      expect(result.stdout).toMatch(/worker started/);
      expect(result.stdout).not.toMatch(/Nest application successfully started/);
      expect(result.code === 0 || result.code === null).toBe(true);
    } finally {
      await database.drop();
    }
  });

  it('without ffmpeg the worker still starts and says once, in words, what that means', async () => {
    const database = await createTestDatabase();
    try {
      const result = await runEntry(
        'src/worker.ts',
        {
          ...goodEnv(),
          DATABASE_URL: database.url,
          REDIS_URL: testRedisUrl(),
          REDIS_PREFIX: uniqueRedisPrefix(),
          FFMPEG_PATH: '/nonexistent/ffmpeg',
        },
        /worker started/,
      );
      expect(result.stdout).toMatch(/worker started/);
      expect(result.stdout.match(/ffmpeg was not found/g)).toHaveLength(1);
      expect(result.stdout).toMatch(/listen-only audio cannot be played until it is installed/);
    } finally {
      await database.drop();
    }
  });
});
