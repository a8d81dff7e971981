import type { NestExpressApplication } from '@nestjs/platform-express';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createWebApp } from '../../src/bootstrap';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import type { TuningOverrides } from '../../src/config/tuning';
import { createTestDatabase } from './database';
import { deleteRedisPrefix, testRedisUrl, uniqueRedisPrefix } from './redis';

/** Backoff before a failed job's next try in test apps (exponential from here). */
export const TEST_JOB_BACKOFF_MS = 200;

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  /** The environment the app was configured from. */
  env: Record<string, string>;
  /** http://127.0.0.1:PORT of the listening server. */
  url: string;
  databaseUrl: string;
  /** A new cookie-keeping client, like one browser. */
  client(): WebClient;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  workers?: boolean;
  tuning?: TuningOverrides;
  /** Another app's database and Redis prefix: a second process of the same installation. */
  sharing?: TestApp;
  /** A database the spec prepared itself (and drops itself), instead of a fresh clone of the template. */
  databaseUrl?: string;
}

/**
 * The real web application (same bootstrap as main.ts) on its own database cloned from the migrated template
 * and its own Redis prefix, listening on a free port.
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const given = options.sharing?.databaseUrl ?? options.databaseUrl;
  const database = given ? { url: given, release: async () => undefined } : await createTestDatabase();
  const prefix = options.sharing?.config.redis.prefix ?? uniqueRedisPrefix();
  const redisUrl = options.env?.REDIS_URL ?? options.sharing?.config.redis.url ?? testRedisUrl();
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    SESSION_SECRET: options.sharing?.env.SESSION_SECRET ?? randomBytes(32).toString('base64'),
    ENCRYPTION_KEY: options.sharing?.env.ENCRYPTION_KEY ?? randomBytes(32).toString('base64'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    WORKERS: options.workers ? 'on' : 'off',
    ...options.env,
  };
  const config = loadConfig(env);
  // A job that fails is retried after a fifth of a second, not production's 5 s, unless the spec says otherwise.
  const tuning: TuningOverrides = {
    ...options.tuning,
    jobs: { backoffMs: TEST_JOB_BACKOFF_MS, ...options.tuning?.jobs },
  };
  const app = await createWebApp(config, { workers: options.workers ?? false, tuning });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    app,
    config,
    env,
    url,
    databaseUrl: database.url,
    client: () => new WebClient(url),
    close: async () => {
      await app.close();
      if (!options.sharing) {
        await deleteRedisPrefix(prefix, redisUrl).catch(() => undefined);
        await database.release();
      }
    },
  };
}

/** A browser-like client: keeps cookies, reads CSRF tokens from pages, posts forms. */
export class WebClient {
  readonly agent: ReturnType<typeof request.agent>;

  constructor(readonly baseUrl: string) {
    this.agent = request.agent(baseUrl);
  }

  get(path: string) {
    return this.agent.get(path).redirects(0);
  }

  /** The `_csrf` value of the first form on a page. */
  async csrfFrom(path: string): Promise<string> {
    const page = await this.get(path);
    const match = /name="_csrf" value="([^"]+)"/.exec(page.text);
    if (!match) throw new Error(`no CSRF token on ${path} (status ${page.status})`);
    return match[1];
  }

  /** Posts a form as a browser would, with the CSRF token of `formPage` unless one is given. */
  async submit(formPage: string, action: string, fields: Record<string, string>, csrf?: string) {
    const token = csrf ?? (await this.csrfFrom(formPage));
    return this.agent
      .post(action)
      .redirects(0)
      .type('form')
      .send({ _csrf: token, ...fields });
  }

  async setupAdmin(admin = DEFAULT_ADMIN) {
    const res = await this.submit('/setup', '/setup', admin);
    if (res.status !== 303) throw new Error(`setup failed: ${res.status} ${res.text.slice(0, 200)}`);
    return admin;
  }

  async signIn(email: string, password: string) {
    return this.submit('/login', '/login', { email, password });
  }

  /** The session cookie's value, to tell whether it changed. */
  sessionId(): string | undefined {
    // superagent keeps cookies in a `cookiejar` jar it does not type.
    const jar = (
      this.agent as unknown as { jar: { getCookie(name: string, access: unknown): { value: string } | undefined } }
    ).jar;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { CookieAccessInfo } = require('cookiejar') as { CookieAccessInfo: new (d: string, p: string) => unknown };
    return jar.getCookie('pd.sid', new CookieAccessInfo(new URL(this.baseUrl).hostname, '/'))?.value;
  }
}

export const DEFAULT_ADMIN = { name: 'Studio Admin', email: 'admin@studio.test', password: 'correct horse battery' };
