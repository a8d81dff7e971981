import { ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { freePort } from '../../tools/services';
import { ensureBuilt } from '../support/build';
import { makeTempDir } from '../support/leftovers';
import { deleteRedisPrefix, testRedisUrl, uniqueRedisPrefix } from '../support/redis';

const ROOT = resolve(__dirname, '..', '..');
const DEMO = join(ROOT, 'dist', 'tools', 'demo', 'demo.js');

interface RunningDemo {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** All processes below `pid`, read from /proc (the demo's servers, the app, PostgreSQL's backends). */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid …" — comm may hold spaces and parentheses, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // exited while we looked
    }
  }
  const found: number[] = [];
  const walk = (parent: number): void => {
    for (const [child, ppid] of parentOf) {
      if (ppid === parent) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm run demo', () => {
  let dataDir: string;
  let port: number;
  let redisPrefix: string;

  beforeAll(async () => {
    // What `npm run demo` does before starting; a current build (`npm run build` in .ci/run) is reused as it is.
    await ensureBuilt();
    dataDir = makeTempDir('demo-spec');
    port = await freePort();
    redisPrefix = uniqueRedisPrefix();
  }, 180_000);

  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    await deleteRedisPrefix(redisPrefix);
  });

  function startDemo(): RunningDemo {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DEMO_DATA_DIR: join(dataDir, 'demo'),
      PORT: String(port),
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: redisPrefix,
      LOG_LEVEL: 'warn',
    };
    // The demo must bring its own PostgreSQL, which is what this test checks survives a restart.
    delete env.DATABASE_URL;
    delete env.HOST;
    delete env.PUBLIC_URL;
    const child = spawn(process.execPath, [DEMO], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    return { child, output: () => output, exited };
  }

  async function untilReady(demo: RunningDemo): Promise<void> {
    const deadline = Date.now() + 120_000;
    while (!demo.output().includes('Press Ctrl-C to stop.')) {
      if (demo.child.exitCode !== null) throw new Error(`the demo exited early:\n${demo.output()}`);
      if (Date.now() > deadline) throw new Error(`the demo did not get ready:\n${demo.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Ctrl-C: the demo must exit 0 and take every process it started with it. */
  async function interrupt(demo: RunningDemo): Promise<void> {
    const started = descendants(demo.child.pid ?? -1);
    expect(started.length).toBeGreaterThanOrEqual(2); // at least the app and PostgreSQL
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    expect(started.filter(alive)).toEqual([]);
  }

  const banner = (demo: RunningDemo, label: string): string => {
    const match = new RegExp(`^\\s+${label}\\s+(\\S+)`, 'm').exec(demo.output());
    if (!match) throw new Error(`no ${label} in the banner:\n${demo.output()}`);
    return match[1];
  };

  it('serves the sign-in page, stops cleanly on Ctrl-C and keeps its data for the next run', async () => {
    const first = startDemo();
    try {
      await untilReady(first);
    } catch (err) {
      first.child.kill('SIGINT');
      await first.exited;
      throw err;
    }
    const page = await fetch(`http://127.0.0.1:${port}/login`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(banner(first, 'Email')).toBe('demo@studio.test');
    const password = banner(first, 'Password');
    // Where the password is kept is said with it, and the database keeps its address from one run to the next.
    expect(first.output()).toContain(`(kept in ${join(dataDir, 'demo', 'secrets.json')})`);
    expect(first.output()).toMatch(/listening on 127\.0\.0\.1:\d+ only \(this machine\)/);
    const firstDatabase = new URL(banner(first, 'Database'));
    // The banner says where the demo's own mailbox is, and it answers.
    const mailbox = await fetch(banner(first, 'Mailbox'));
    expect(mailbox.status).toBe(200);
    await expect(mailbox.text()).resolves.toContain('Demo mailbox');
    await interrupt(first);

    const secrets = join(dataDir, 'demo', 'secrets.json');
    expect(statSync(secrets).mode & 0o777).toBe(0o600);

    const second = startDemo();
    try {
      await untilReady(second);
      expect(second.output()).toContain('exists: demo@studio.test');
      expect(banner(second, 'Password')).toBe(password);
      expect(new URL(banner(second, 'Database')).port).toBe(firstDatabase.port);
      const db = new Client({ connectionString: banner(second, 'Database') });
      await db.connect();
      try {
        const { rows } = await db.query("select role from users where email = 'demo@studio.test'");
        expect(rows).toEqual([{ role: 'admin' }]);
      } finally {
        await db.end();
      }
    } finally {
      await interrupt(second);
    }
  }, 240_000);
});
