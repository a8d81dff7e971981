import { randomBytes } from 'node:crypto';
import { WebClient } from '../support/app';
import { createTestDatabase, TestDatabase } from '../support/database';
import { deleteRedisPrefix, testRedisUrl, uniqueRedisPrefix } from '../support/redis';
import { ServerProcess, startServerProcess } from '../support/server-process';

type LogLine = Record<string, any>;

/**
 * The real server as its own process, its log lines captured: a hostile body is answered 400 with one log line
 * (no stack trace), and credentials that travel in URLs (OAuth code and state, a multipart form's CSRF token) are
 * not written to the request log.
 */
describe('security: what the request log says', () => {
  let database: TestDatabase;
  let server: ServerProcess;
  let baseUrl: string;
  const prefix = uniqueRedisPrefix();
  const lines = (): LogLine[] =>
    server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
  const ofRequest = (id: string) => lines().filter((l) => l.reqId === id || l.req?.id === id);

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startServerProcess({
      DATABASE_URL: database.url,
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: prefix,
      LOG_LEVEL: 'info',
      WORKERS: 'off',
    });
    baseUrl = server.url;
    await new WebClient(baseUrl).setupAdmin();
  });

  afterAll(async () => {
    await server?.stop();
    await database?.drop();
    await deleteRedisPrefix(prefix).catch(() => undefined);
  });

  /** Waits until the request's completion line is in the log (the process writes it after answering). */
  async function completed(id: string): Promise<LogLine[]> {
    for (let i = 0; i < 200 && !ofRequest(id).some((l) => /request (completed|errored)/.test(l.msg)); i++)
      await new Promise((r) => setTimeout(r, 25));
    return ofRequest(id);
  }

  const deepArray = '['.repeat(5000) + ']'.repeat(5000);
  const deepObject = '{"a":'.repeat(3000) + '1' + '}'.repeat(3000);

  it.each([
    ['POST /login, _csrf nested', '/login', `{"_csrf":${deepArray}}`],
    ['POST /login, email nested', '/login', `{"email":${deepObject},"password":"x"}`],
    ['POST /s/:token', `/s/${'A'.repeat(24)}`, `{"password":${deepArray}}`],
    ['POST /api/v1/tracks', '/api/v1/tracks', `{"title":${deepObject}}`],
    ['PATCH /api/v1/me', '/api/v1/me', deepArray],
  ])('answers a deeply nested JSON body with 400 and one log line: %s', async (_name, path, body) => {
    const id = `deep-${randomBytes(6).toString('hex')}`;
    const method = _name.startsWith('PATCH') ? 'PATCH' : 'POST';
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      body,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-Request-Id': id },
    });
    expect(res.status).toBe(400);
    const answer = (await res.json()) as { message: string; errors?: Array<{ field: string }> };
    expect(answer.message).toMatch(/nested too deeply/);
    expect(answer.errors?.[0]?.field).toBe('body');
    const logged = await completed(id);
    expect(logged.filter((l) => l.level >= 40).map((l) => l.msg)).toEqual(['request body nested too deeply']);
    expect(JSON.stringify(logged)).not.toMatch(/RangeError|stack/);
  });

  it('keeps OAuth code and state, and CSRF tokens in URLs, out of the request log', async () => {
    const secrets = {
      code: `code${randomBytes(12).toString('hex')}`,
      state: `state${randomBytes(12).toString('hex')}`,
      csrf: `csrf${randomBytes(12).toString('hex')}`,
    };
    const admin = new WebClient(baseUrl);
    await admin.signIn('admin@studio.test', 'correct horse battery');
    const ids: string[] = [];
    for (const path of [
      `/settings/dropbox/callback?code=${secrets.code}&state=${secrets.state}`,
      `/settings/dropbox/callback?state=${secrets.state}&code=${secrets.code}&x=1`,
      `/tracks/00000000-0000-4000-8000-000000000000/uploads?_csrf=${secrets.csrf}`,
    ]) {
      const id = `url-${randomBytes(6).toString('hex')}`;
      ids.push(id);
      await admin.agent.get(path).set('X-Request-Id', id).redirects(0);
    }
    const id = `form-${randomBytes(6).toString('hex')}`;
    ids.push(id);
    await admin.agent
      .post('/tracks/00000000-0000-4000-8000-000000000000/uploads')
      .query({ _csrf: secrets.csrf })
      .set('X-Request-Id', id)
      .set('X-CSRF-Token', secrets.csrf)
      .redirects(0);
    for (const requestId of ids) expect((await completed(requestId)).length).toBeGreaterThan(0);
    for (const secret of Object.values(secrets))
      expect({ secret, inLog: server.output().includes(secret) }).toEqual({ secret, inLog: false });
    expect(server.output()).toContain('code=[redacted]');
  });
});
