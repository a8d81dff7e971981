import { EntityManager, MikroORM, RequestContext } from '@mikro-orm/postgresql';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import Redis from 'ioredis';
import { Client } from 'pg';
import { createWebApp } from '../../src/bootstrap';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { runMigrations } from '../../src/database/migrate';
import { AccountsService } from '../../src/modules/accounts/accounts.service';
import { DropboxConnectionsService } from '../../src/modules/dropbox/dropbox-connections.service';
import type { DropboxAccountClient } from '../../src/modules/dropbox/dropbox.gateway';
import { DropboxConnection } from '../../src/modules/dropbox/entities/dropbox-connection.entity';
import { ensurePostgres, ensureRedis } from '../services';
import { connectionGrant } from '../dropbox-emulator/grants';
import { EmulatorProcess } from './emulator-process';

// ---------------------------------------------------------------------------------------------------------------
// What a scenario is and what it hands back
// ---------------------------------------------------------------------------------------------------------------

export interface BenchOptions {
  /** Smaller sizes for a smoke run. */
  quick: boolean;
  /** Overrides the upload scenario's file size. */
  sizeMiB?: number;
  /** DROPBOX_UPLOAD_CHUNK_MIB for the app (default: the environment's, else the app's default 8). */
  chunkMiB?: number;
  /** Upload scenario: gateway runs, each followed by a baseline run (default 1: baseline, gateway, baseline). */
  rounds?: number;
  /** Soak scenario: seconds of mixed traffic (default 60, or 10 with `quick`). */
  durationSeconds?: number;
  /** Where to write a CPU profile of each measured phase (`<scenario>-<phase>.cpuprofile`); none when unset. */
  profileDir?: string;
}

/** A target a figure is compared with. Figures are reported, never asserted: a miss does not fail the run. */
export interface Target {
  op: '<' | '<=' | '>' | '>=' | '==';
  value: number | boolean | string;
}

export interface Figure {
  /** Stable identifier, used in the JSON (`upload.peak_rss_mb`). */
  key: string;
  label: string;
  value: number | boolean | string;
  /** Shown after the value: `MB`, `MB/s`, `ms`, `calls`… */
  unit?: string;
  target?: Target;
  note?: string;
}

export type Verdict = 'PASS' | 'MISS' | '';

export interface ScenarioResult {
  figures: Figure[];
  /** Anything else worth keeping in the JSON (raw timings, memory breakdowns, counters). */
  details?: Record<string, unknown>;
}

/**
 * One benchmark. A new scenario is a file under scenarios/ exporting one of these, added to the list in
 * scenarios/index.ts.
 */
export interface Scenario {
  name: string;
  /** One line for `--list` and the report header. */
  description: string;
  run(ctx: BenchContext): Promise<ScenarioResult>;
}

export function verdict(figure: Figure): Verdict {
  const { target, value } = figure;
  if (!target) return '';
  const t = target.value;
  let ok: boolean;
  switch (target.op) {
    case '==':
      ok = value === t;
      break;
    case '<':
      ok = (value as number) < (t as number);
      break;
    case '<=':
      ok = (value as number) <= (t as number);
      break;
    case '>':
      ok = (value as number) > (t as number);
      break;
    case '>=':
      ok = (value as number) >= (t as number);
      break;
  }
  return ok ? 'PASS' : 'MISS';
}

// ---------------------------------------------------------------------------------------------------------------
// The shared environment: PostgreSQL, Redis, the emulator (child process), the app, a connected producer
// ---------------------------------------------------------------------------------------------------------------

const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432/postgres';
const LOCAL_REDIS = 'redis://127.0.0.1:6379';
const BENCH_APP_KEY = 'pd-bench-app';

export interface Producer {
  userId: string;
  email: string;
  accountId: string;
  connectionId: string;
  client: DropboxAccountClient;
}

/**
 * Everything a scenario may need, started on first use and shared by the scenarios of one run: a throwaway
 * database (`pd_bench_<random>`, migrated, dropped at the end), a unique Redis prefix (its keys deleted at the end),
 * the Dropbox emulator in a child process, the app (as `main.ts` builds it, workers off) and a producer with a
 * Dropbox connection. `close()` undoes all of it in reverse order.
 */
export class BenchContext {
  /** Private scratch folder for generated files and the emulator's data; deleted by close(). */
  readonly tmpDir: string;
  private readonly cleanups: Array<{ name: string; run: () => Promise<void> }> = [];
  private closing: Promise<string[]> | undefined;
  private servicesPromise?: Promise<{ databaseUrl: string; redisUrl: string; redisPrefix: string }>;
  private emulatorPromise?: Promise<EmulatorProcess>;
  private appPromise?: Promise<{ app: NestExpressApplication; config: AppConfig }>;
  private listenPromise?: Promise<string>;
  private producerPromise?: Promise<Producer>;

  constructor(readonly options: BenchOptions) {
    this.tmpDir = mkdtempSync(join(tmpdir(), 'pd-bench-'));
    // An embedded PostgreSQL started as root runs as the postgres account, which must be able to enter it.
    chmodSync(this.tmpDir, 0o755);
    this.onClose('scratch folder', async () => rmSync(this.tmpDir, { recursive: true, force: true }));
  }

  /** The file a phase's CPU profile goes to when `--profile` is on. */
  profilePath(scenario: string, phase: string): string | undefined {
    return this.options.profileDir ? join(this.options.profileDir, `${scenario}-${phase}.cpuprofile`) : undefined;
  }

  /** Registers something to undo at close (run in reverse order of registration). */
  onClose(name: string, run: () => Promise<void>): void {
    this.cleanups.push({ name, run });
  }

  services(): Promise<{ databaseUrl: string; redisUrl: string; redisPrefix: string }> {
    this.servicesPromise ??= this.startServices();
    return this.servicesPromise;
  }

  emulator(): Promise<EmulatorProcess> {
    this.emulatorPromise ??= (async () => {
      const emulator = await EmulatorProcess.start({ dataDir: join(this.tmpDir, 'emulator'), appKey: BENCH_APP_KEY });
      this.onClose('dropbox emulator', () => emulator.stop());
      return emulator;
    })();
    return this.emulatorPromise;
  }

  /** The app's Nest container, initialised (not listening). */
  async app(): Promise<NestExpressApplication> {
    return (await this.appWithConfig()).app;
  }

  async config(): Promise<AppConfig> {
    return (await this.appWithConfig()).config;
  }

  /** Base URL of the app listening on a free port, for scenarios that go through HTTP (autocannon…). */
  listen(): Promise<string> {
    this.listenPromise ??= (async () => {
      const app = await this.app();
      await app.listen(0, '127.0.0.1');
      const { port } = app.getHttpServer().address() as AddressInfo;
      return `http://127.0.0.1:${port}`;
    })();
    return this.listenPromise;
  }

  /** A producer whose Dropbox (an emulator account) is connected. */
  producer(): Promise<Producer> {
    this.producerPromise ??= this.createProducer();
    return this.producerPromise;
  }

  /**
   * Undoes everything, newest first. Once: Ctrl-C's handler and the run's own end (its scenario fails as the
   * emulator child dies of the same signal) both call it, and both must wait for the same cleanup — the run used to
   * exit half way and leave its database behind.
   */
  close(): Promise<string[]> {
    this.closing ??= (async () => {
      const problems: string[] = [];
      for (const { name, run } of this.cleanups.splice(0).reverse()) {
        try {
          await run();
        } catch (err) {
          problems.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      return problems;
    })();
    return this.closing;
  }

  private async startServices(): Promise<{ databaseUrl: string; redisUrl: string; redisPrefix: string }> {
    const postgres = await ensurePostgres({
      dataDir: join(this.tmpDir, 'postgres'),
      url: process.env.BENCH_DATABASE_URL ?? LOCAL_POSTGRES,
      durable: false,
    });
    this.onClose('PostgreSQL', postgres.stop);
    const adminUrl = databaseUrl(postgres.url, 'postgres');
    const name = `pd_bench_${randomBytes(6).toString('hex')}`;
    await withPg(adminUrl, (pg) => pg.query(`create database ${pg.escapeIdentifier(name)}`));
    this.onClose(`database ${name}`, async () => {
      await withPg(adminUrl, (pg) => pg.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`));
    });
    const url = databaseUrl(postgres.url, name);
    await runMigrations(url);

    const redis = await ensureRedis({
      dataDir: join(this.tmpDir, 'redis'),
      url: process.env.BENCH_REDIS_URL ?? LOCAL_REDIS,
    });
    this.onClose('Redis', redis.stop);
    const redisPrefix = `pdb-${randomBytes(8).toString('hex')}`;
    this.onClose(`Redis keys ${redisPrefix}*`, async () => void (await deleteRedisKeys(redis.url, `${redisPrefix}*`)));
    return { databaseUrl: url, redisUrl: redis.url, redisPrefix };
  }

  private appWithConfig(): Promise<{ app: NestExpressApplication; config: AppConfig }> {
    this.appPromise ??= (async () => {
      const [services, emulator] = await Promise.all([this.services(), this.emulator()]);
      const chunkMiB = this.options.chunkMiB ?? process.env.DROPBOX_UPLOAD_CHUNK_MIB;
      const config = loadConfig({
        NODE_ENV: 'production',
        DATABASE_URL: services.databaseUrl,
        REDIS_URL: services.redisUrl,
        REDIS_PREFIX: services.redisPrefix,
        SESSION_SECRET: randomBytes(48).toString('base64'),
        ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
        WORKERS: 'off',
        DROPBOX_APP_KEY: BENCH_APP_KEY,
        DROPBOX_API_URL: emulator.url,
        DROPBOX_CONTENT_URL: emulator.url,
        DROPBOX_AUTHORIZE_URL: `${emulator.url}/oauth2/authorize`,
        ...(chunkMiB !== undefined ? { DROPBOX_UPLOAD_CHUNK_MIB: String(chunkMiB) } : {}),
      });
      const app = await createWebApp(config, { workers: false });
      await app.init();
      this.onClose('app', () => app.close());
      return { app, config };
    })();
    return this.appPromise;
  }

  private async createProducer(): Promise<Producer> {
    const [app, emulator] = await Promise.all([this.app(), this.emulator()]);
    const email = `bench-${randomBytes(4).toString('hex')}@studio.test`;
    const orm = app.get(MikroORM);
    const user = await RequestContext.create(orm.em, () =>
      app
        .get(AccountsService)
        .createUser({ email, name: 'Bench Producer', password: randomBytes(18).toString('base64'), role: 'producer' }),
    );
    // The stored connection an OAuth round trip would leave, with tokens the emulator issued directly.
    const account = await emulator.registerAccount(email);
    const issued = await emulator.issueToken(account.account_id);
    await app.get(DropboxConnectionsService).store(user.id, connectionGrant(account, issued));
    const connection = await app.get(EntityManager).fork().findOneOrFail(DropboxConnection, { user: user.id });
    const client = await app.get(DropboxConnectionsService).clientFor(user.id);
    return { userId: user.id, email, accountId: account.account_id, connectionId: connection.id, client };
  }
}

function databaseUrl(serverUrl: string, database: string): string {
  const parsed = new URL(serverUrl);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

async function withPg<T>(url: string, work: (pg: Client) => Promise<T>): Promise<T> {
  const pg = new Client({ connectionString: url });
  await pg.connect();
  try {
    return await work(pg);
  } finally {
    await pg.end();
  }
}

/** Deletes the keys matching `pattern` (SCAN + UNLINK in batches, never KEYS); returns how many. */
export async function deleteRedisKeys(url: string, pattern: string): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length > 0) deleted += await client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    return deleted;
  } finally {
    client.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Small helpers for scenarios
// ---------------------------------------------------------------------------------------------------------------

export const MB = 1_000_000;
export const MiB = 1024 * 1024;

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The p-th percentile (0–100) of some numbers, nearest-rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Runs `count` tasks from `callers` concurrent loops; each loop takes the next task index when it is free. */
export async function runConcurrently(
  count: number,
  callers: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(callers, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

export function say(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}
