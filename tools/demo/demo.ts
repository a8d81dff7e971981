import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../../src/common/paths';
import { loadConfig } from '../../src/config/app-config';
import { startDropboxEmulator } from '../dropbox-emulator';
import { delay, ensurePostgres, ensureRedis, ManagedProcess, runToCompletion } from '../services';
import { preferredPort } from '../services/ports';
import { startDemoMailbox } from './mailbox';
import { seedDemoStudio } from './seed';

/**
 * `npm run demo`: the whole product on this machine with one command and no configuration. PostgreSQL (its own
 * cluster), Redis (the local one if it answers, else its own), migrations, a demo admin, then the app (web +
 * workers). Everything it keeps lives in DEMO_DATA_DIR (default .data/demo), so a second run picks up where the
 * first stopped; delete that folder to start over. Ctrl-C stops the app first, then the servers it started.
 */

const DATA_DIR = resolve(process.env.DEMO_DATA_DIR ?? join(PROJECT_ROOT, '.data', 'demo'));
/** The app built alongside this file (dist/tools/demo → dist/src), whichever output folder that is. */
const DIST = resolve(__dirname, '..', '..', 'src');
const DEMO_EMAIL = 'demo@studio.test';
const DEMO_NAME = 'Demo Producer';
/** Keeps the demo's keys apart from anything else on a shared local Redis. */
const SHARED_REDIS_PREFIX = 'pd-demo';
const READY_TIMEOUT_MS = 90_000;
/** The Dropbox emulator's port when free (stable, so links and bookmarks keep working across runs). */
const DEMO_DROPBOX_PORT = Number(process.env.DEMO_DROPBOX_PORT ?? 8787);
/** The demo's own PostgreSQL port when free, for the same reason. */
const DEMO_POSTGRES_PORT = Number(process.env.DEMO_POSTGRES_PORT ?? 54329);
const DEMO_APP_KEY = 'producer-dashboard-demo';
/** The demo's mail catcher: SMTP for the app, a web page for you (stable ports when free). */
const DEMO_SMTP_PORT = Number(process.env.DEMO_SMTP_PORT ?? 2525);
const DEMO_MAILBOX_PORT = Number(process.env.DEMO_MAILBOX_PORT ?? 8025);

interface DemoSecrets {
  SESSION_SECRET: string;
  ENCRYPTION_KEY: string;
  DEMO_PASSWORD: string;
}

/** Something started by the demo, stopped in reverse order on the way out. */
interface Running {
  name: string;
  stop(): Promise<void>;
}

function say(message: string): void {
  process.stdout.write(`[demo] ${message}\n`);
}

/** Generated on the first run and reused after, so sessions, encrypted tokens and the password survive restarts. */
function loadOrCreateSecrets(file: string): DemoSecrets {
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<DemoSecrets>;
    if (!stored.SESSION_SECRET || !stored.ENCRYPTION_KEY || !stored.DEMO_PASSWORD) {
      throw new Error(`${file} is incomplete; delete ${DATA_DIR} to start the demo afresh`);
    }
    chmodSync(file, 0o600);
    return stored as DemoSecrets;
  }
  const secrets: DemoSecrets = {
    SESSION_SECRET: randomBytes(48).toString('base64'),
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    DEMO_PASSWORD: randomBytes(12).toString('base64url'),
  };
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

/**
 * Starts (or finds) the servers the app needs and returns the environment that points the app at them.
 * Every backing service of the demo belongs here.
 */
async function startBackingServices(
  running: Running[],
): Promise<{ env: NodeJS.ProcessEnv; emulator: Awaited<ReturnType<typeof startDropboxEmulator>>; mailboxUrl: string }> {
  say('starting PostgreSQL…');
  // A stable port (DEMO_POSTGRES_PORT, 54329 unless taken), so a database client can keep its bookmark.
  const pg = process.env.DATABASE_URL ? { port: undefined, preferred: true } : await preferredPort(DEMO_POSTGRES_PORT);
  if (!pg.preferred) say(`port ${DEMO_POSTGRES_PORT} is taken; PostgreSQL uses ${pg.port} this time`);
  const postgres = await ensurePostgres({
    dataDir: join(DATA_DIR, 'postgres'),
    url: process.env.DATABASE_URL,
    database: 'producer_dashboard',
    detached: true,
    port: pg.port,
  });
  if (postgres.started) running.push({ name: 'PostgreSQL', stop: postgres.stop });
  say(postgres.started ? `PostgreSQL started (data in ${join(DATA_DIR, 'postgres')})` : 'using DATABASE_URL');

  // With REDIS_SENTINELS in the environment the app (which inherits it) uses Sentinel, so no Redis is started.
  const sentinels = process.env.REDIS_SENTINELS;
  const redis = sentinels
    ? { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', started: false, stop: async () => undefined }
    : await ensureRedis({
        dataDir: join(DATA_DIR, 'redis'),
        url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
        detached: true,
      });
  if (redis.started) running.push({ name: 'Redis', stop: redis.stop });
  const prefix = process.env.REDIS_PREFIX ?? (redis.started ? undefined : SHARED_REDIS_PREFIX);
  say(
    sentinels
      ? `using Redis Sentinel ${sentinels} (${process.env.REDIS_SENTINEL_NAME ?? 'mymaster'})`
      : redis.started
        ? `redis-server started (data in ${join(DATA_DIR, 'redis')})`
        : `using Redis at ${redis.url}`,
  );

  say('starting the Dropbox emulator…');
  const dropboxDir = join(DATA_DIR, 'dropbox');
  const emulator = await startDropboxEmulator({
    port: DEMO_DROPBOX_PORT,
    dataDir: dropboxDir,
    appKey: DEMO_APP_KEY,
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EADDRINUSE') throw err;
    say(`port ${DEMO_DROPBOX_PORT} is taken; the Dropbox emulator uses a free one`);
    return startDropboxEmulator({ port: 0, dataDir: dropboxDir, appKey: DEMO_APP_KEY });
  });
  running.push({ name: 'the Dropbox emulator', stop: () => emulator.close() });
  say(`Dropbox emulator at ${emulator.url} (data in ${dropboxDir})`);

  // A real SMTP server on loopback receives the producer's notification emails; a page lists them.
  const smtpPort = await preferredPort(DEMO_SMTP_PORT);
  const webPort = await preferredPort(DEMO_MAILBOX_PORT);
  const mailbox = await startDemoMailbox({
    dataDir: join(DATA_DIR, 'mailbox'),
    smtpPort: smtpPort.port,
    webPort: webPort.port,
  });
  running.push({ name: 'the mailbox', stop: () => mailbox.close() });
  say(`mailbox at ${mailbox.webUrl} (SMTP ${mailbox.smtpUrl})`);

  return {
    env: {
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      ...(prefix ? { REDIS_PREFIX: prefix } : {}),
      DROPBOX_APP_KEY: DEMO_APP_KEY,
      DROPBOX_API_URL: emulator.url,
      DROPBOX_CONTENT_URL: emulator.url,
      DROPBOX_AUTHORIZE_URL: `${emulator.url}/oauth2/authorize`,
      // Everything runs on this machine, so webhook receivers in the demo are on loopback too.
      WEBHOOKS_ALLOW_PRIVATE: 'true',
      SMTP_URL: process.env.SMTP_URL ?? mailbox.smtpUrl,
      MAIL_FROM: process.env.MAIL_FROM ?? 'Producer Dashboard demo <dashboard@demo.test>',
    },
    emulator,
    mailboxUrl: mailbox.webUrl,
  };
}

/** Runs one of the app's own commands to completion with its output shown; a failure ends the demo. */
async function step(name: string, script: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  say(`${name}…`);
  await runToCompletion(process.execPath, [join(DIST, script), ...args], {
    name,
    env,
    cwd: PROJECT_ROOT,
    detached: true,
    inheritOutput: true,
  });
}

async function answersReady(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2_000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

function banner(url: string, secrets: DemoSecrets, env: NodeJS.ProcessEnv, mailboxUrl: string): void {
  const lines = [
    '',
    '  Producer Dashboard demo is running',
    '',
    `    Open       ${url}`,
    `    Email      ${DEMO_EMAIL}`,
    `    Password   ${secrets.DEMO_PASSWORD}  (kept in ${join(DATA_DIR, 'secrets.json')})`,
    '',
    `    Dropbox    ${env.DROPBOX_API_URL ?? ''} (local emulator; "Connect Dropbox" approves there)`,
    `    Mailbox    ${mailboxUrl} (every email the app sends: notification digests, "Ask for more time")`,
    `    Database   ${env.DATABASE_URL ?? ''}`,
    `    Redis      ${env.REDIS_SENTINELS ? `Sentinel ${env.REDIS_SENTINELS}` : (env.REDIS_URL ?? '')} (prefix ${env.REDIS_PREFIX ?? 'pd'})`,
    `    Data       ${DATA_DIR} (delete it to start over)`,
    '',
    '  Press Ctrl-C to stop.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Resolves with the first of SIGINT/SIGTERM/SIGHUP; a second one gives up on a clean stop. */
function stopRequested(): { promise: Promise<NodeJS.Signals>; received: () => boolean } {
  let received = false;
  const promise = new Promise<NodeJS.Signals>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(signal, () => {
        if (received) {
          say('stopping now');
          // The exit hooks of the started processes kill them.
          process.exit(130);
        }
        received = true;
        say(`${signal}: stopping (again to force)…`);
        resolve(signal);
      });
    }
  });
  return { promise, received: () => received };
}

async function run(running: Running[]): Promise<number> {
  const stop = stopRequested();
  // Not 0700: as root, PostgreSQL runs as the postgres account and must reach its folder inside. The secrets file
  // and the database folder are private themselves.
  mkdirSync(DATA_DIR, { recursive: true, mode: 0o755 });
  const secrets = loadOrCreateSecrets(join(DATA_DIR, 'secrets.json'));
  const port = Number(process.env.PORT ?? 3000);

  const services = await startBackingServices(running);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...services.env,
    NODE_ENV: 'development',
    PORT: String(port),
    // Only this machine can reach the demo unless HOST says otherwise.
    HOST: process.env.HOST ?? '127.0.0.1',
    LOG_FORMAT: 'pretty',
    // Uploads waiting for Dropbox belong with the rest of the demo's data.
    SPOOL_DIR: process.env.SPOOL_DIR ?? join(DATA_DIR, 'spool'),
    SESSION_SECRET: secrets.SESSION_SECRET,
    ENCRYPTION_KEY: secrets.ENCRYPTION_KEY,
  };
  if (stop.received()) return 0;
  await step('migrate', 'database/migrate.js', [], env);
  if (stop.received()) return 0;
  await step(
    'create-user',
    'cli.js',
    [
      'create-user',
      '--email',
      DEMO_EMAIL,
      '--password',
      secrets.DEMO_PASSWORD,
      '--name',
      DEMO_NAME,
      '--role',
      'admin',
      '--if-missing',
    ],
    env,
  );
  if (stop.received()) return 0;
  await seedDemoStudio(loadConfig({ ...env, LOG_LEVEL: 'silent' }), services.emulator, DEMO_EMAIL, say);
  if (stop.received()) return 0;

  say(`starting the app on port ${port}…`);
  const app = new ManagedProcess(process.execPath, [join(DIST, 'main.js')], {
    name: 'the app',
    env,
    cwd: PROJECT_ROOT,
    detached: true,
    inheritOutput: true,
    stopSignal: 'SIGTERM',
    exitSignal: 'SIGTERM',
  });
  running.push({ name: 'the app', stop: async () => void (await app.stop(15_000)) });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await answersReady(port))) {
    if (!app.isRunning) throw new Error(app.describeExit(await app.exited));
    if (stop.received()) return 0;
    if (Date.now() > deadline)
      throw new Error(`the app did not answer /health/ready within ${READY_TIMEOUT_MS / 1000} s`);
    await delay(250);
  }
  banner(env.PUBLIC_URL ?? `http://localhost:${port}`, secrets, env, services.mailboxUrl);
  say(
    `listening on ${env.HOST}:${port} only${env.HOST === '127.0.0.1' ? ' (this machine); set HOST=0.0.0.0 to let other machines in' : ''}`,
  );

  const ended = await Promise.race([app.exited, stop.promise.then(() => undefined)]);
  if (ended) throw new Error(app.describeExit(ended));
  return 0;
}

async function main(): Promise<void> {
  const running: Running[] = [];
  let code: number;
  try {
    code = await run(running);
  } catch (err) {
    process.stderr.write(`[demo] ${err instanceof Error ? err.message : String(err)}\n`);
    code = 1;
  }
  for (const { name, stop } of running.reverse()) {
    say(`stopping ${name}…`);
    await stop().catch((err: unknown) => process.stderr.write(`[demo] stopping ${name}: ${String(err)}\n`));
  }
  say('stopped');
  // Exit explicitly: nothing is left to wait for, and a stray handle must not keep the launcher alive.
  process.exit(code);
}

void main();
