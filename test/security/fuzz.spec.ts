import fc from 'fast-check';
import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { startTestApp, TestApp } from '../support/app';
import { ChangeCounter, databaseFingerprint, installChangeCounter } from '../support/db-fingerprint';
import { dropboxEnv, startTestEmulator } from '../support/dropbox';
import { fillPath, ownedFixtures, OwnedFixtures } from '../support/fixtures';
import { ApiOperation, apiOperations, OpenApiDocument, sampleBody } from '../support/openapi';
import { signedInUser, TestUser } from '../support/users';

/** What must never reach a client: stack frames, source paths, SQL or driver errors. */
const LEAKS =
  /\bat [\w.<>]+ \(|\.ts:\d+|node_modules|\bselect\b.+\bfrom\b|\binsert into\b|syntax error at|QueryFailed|DriverException|MikroORM|TypeError|ReferenceError/i;

const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS ?? 40);

/** Text PostgreSQL refuses (NUL), that isn't Unicode (lone surrogates) or that spoofs what it shows (bidi controls). */
const hostile = fc.constantFrom(
  '\u0000',
  'a\u0000b',
  '\uD800',
  'x\uDC00y',
  '\uD83D',
  'evil\u202Egnp.exe',
  '\u202Ax',
  '\u2066x\u2069',
  '\u202D',
);
const text = (maxLength: number) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.string({ maxLength }) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.string({ maxLength: 20 }), hostile, fc.string({ maxLength: 20 })).map((p) => p.join('')),
    },
  );

/** Anything a client could send as a JSON body, leaning towards the shapes the API expects. */
const bodies = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(
    fc.constantFrom(
      'title',
      'name',
      'email',
      'role',
      'bpm',
      'key',
      'files',
      'tracks',
      'dropboxIds',
      'category',
      'expiry',
      'downloads',
      'password',
      'disabled',
      'collaboratorId',
      '__proto__',
      'constructor',
    ),
    fc.oneof(
      text(600),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(text(40), { maxLength: 5 }),
      fc.object({ maxDepth: 2 }),
    ),
  ),
);
const queries = fc.dictionary(
  fc.constantFrom('q', 'sort', 'dir', 'page', 'pageSize', 'next', 'format', 'x'),
  fc.oneof(text(300), fc.integer().map(String), fc.constantFrom('-1', '1e309', 'NaN', '[]', '%00', '../../etc/passwd')),
);
const pathParams = fc.oneof(
  fc.constant(null),
  fc.string({ maxLength: 60 }),
  fc.uuid(),
  fc.constantFrom('..', '%2e%2e', 'id:abc', "1' or '1'='1", '\u0000'),
);
const contentTypes = fc.constantFrom(
  'application/json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'image/png',
);

describe('security: generated bad input never breaks the server', () => {
  let emulator: RunningDropboxEmulator;
  let t: TestApp;
  let owner: TestUser;
  let fixtures: OwnedFixtures;
  let operations: ApiOperation[];
  let doc: OpenApiDocument;
  let csrf: string;
  let changes: ChangeCounter;

  beforeAll(async () => {
    emulator = await startTestEmulator();
    t = await startTestApp({
      env: { ...dropboxEnv(emulator), SPOOL_DIR: `/tmp/pd-fuzz-spool-${process.pid}`, MAX_UPLOAD_MB: '1' },
    });
    owner = await signedInUser(t);
    fixtures = await ownedFixtures(t, emulator, owner);
    ({ operations, doc } = await apiOperations(owner.browser));
    csrf = await owner.browser.csrfFrom('/settings');
    changes = await installChangeCounter(t.databaseUrl);
  });
  afterAll(async () => {
    await changes?.close();
    await t?.close();
    await emulator?.close();
  });

  function path(op: ApiOperation, param: string | null): string {
    const filled = op.params.length ? fillPath(op.path, fixtures.ids) : op.path;
    if (param === null || !op.params.length) return filled;
    // Swap the last id for the generated value.
    const last = fillPath(op.path.replace(/\{\w+\}$/, '{__}'), {
      ...fixtures.ids,
      [op.path.split('/').at(-2)!]: '__',
    }).replace(/__$/, '');
    return `${last}${encodeURIComponent(param)}`;
  }

  it('answers every API route with a clean status and no leak, and a rejected write changes nothing', async () => {
    const routes = operations.filter((op) => !op.path.startsWith('/api/v1/admin/'));
    let requests = 0;
    for (const op of routes) {
      await fc.assert(
        fc.asyncProperty(bodies, queries, pathParams, contentTypes, async (body, query, param, contentType) => {
          const before = op.method === 'get' ? null : await changes();
          const raw =
            contentType === 'application/json'
              ? JSON.stringify(body)
              : typeof body === 'string'
                ? body
                : JSON.stringify(body);
          const res = await owner.browser.agent[op.method](path(op, param))
            .query(query)
            .set('X-CSRF-Token', csrf)
            .set('Content-Type', contentType)
            .send(raw);
          requests += 1;
          const route = `${op.method.toUpperCase()} ${op.path}`;
          // No 5xx at all: a NUL byte once answered 503 ("dependency unavailable"), PostgreSQL's refusal taken for an outage.
          expect({ route, serverError: res.status >= 500 ? res.text.slice(0, 200) : false }).toEqual({
            route,
            serverError: false,
          });
          expect({ route, leak: LEAKS.test(res.text) ? res.text.slice(0, 300) : null }).toEqual({ route, leak: null });
          if (before !== null && res.status >= 400)
            expect({ route, written: (await changes()) - before }).toEqual({ route, written: 0 });
        }),
        { numRuns: op.method === 'get' ? RUNS_PER_ROUTE : Math.ceil(RUNS_PER_ROUTE / 2), seed: 20261127 },
      );
    }
    expect(requests).toBeGreaterThan(1000);
  }, 180_000);

  it('answers hostile text in an otherwise valid body with 400 naming the field, and writes nothing', async () => {
    /** Paths of the string leaves of a body (`tracks.0.files.0`), and a copy of the body with one replaced. */
    const leaves = (value: unknown, at: string[] = []): string[][] =>
      typeof value === 'string'
        ? [at]
        : value && typeof value === 'object'
          ? Object.entries(value).flatMap(([k, v]) => leaves(v, [...at, k]))
          : [];
    const replaced = (value: unknown, at: string[], text: string): unknown => {
      if (at.length === 0) return text;
      const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string, unknown>;
      copy[at[0]] = replaced(copy[at[0]], at.slice(1), text);
      return copy;
    };
    let requests = 0;
    for (const op of operations.filter((o) => o.method !== 'get' && !o.path.startsWith('/api/v1/admin/'))) {
      const body = sampleBody(doc, op);
      const spots = leaves(body);
      if (spots.length === 0) continue;
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...spots), hostile, async (spot, bad) => {
          const before = await changes();
          const res = await owner.browser.agent[op.method](fillPath(op.path, fixtures.ids))
            .set('X-CSRF-Token', csrf)
            .send(replaced(body, spot, bad) as object);
          requests += 1;
          const route = `${op.method.toUpperCase()} ${op.path} ${spot.join('.')}`;
          expect({ route, status: res.status, field: res.body.errors?.[0]?.field }).toEqual({
            route,
            status: 400,
            field: spot.join('.'),
          });
          expect({ route, written: (await changes()) - before }).toEqual({ route, written: 0 });
        }),
        { numRuns: 12, seed: 20261201 },
      );
    }
    expect(requests).toBeGreaterThan(50);
  });

  it('answers the public routes (sign-in, setup, share links) with a clean status whatever the token, query or headers', async () => {
    const token = fixtures.shareToken;
    const publicPaths = fc.oneof(
      fc.constant('/login'),
      fc.constant('/setup'),
      fc.string({ maxLength: 80 }).map((s) => `/s/${encodeURIComponent(s)}`),
      fc.constant(`/s/${token}`),
      fc.oneof(fc.uuid(), fc.string({ maxLength: 40 })).map((id) => `/s/${token}/files/${encodeURIComponent(id)}/play`),
      fc
        .oneof(fc.uuid(), fc.string({ maxLength: 40 }))
        .map((id) => `/s/${token}/files/${encodeURIComponent(id)}/download`),
      fc.constant(`/s/${token}/files/${fixtures.ids.files}/play`),
      fc.constant(`/s/${token}/download-all`),
      fc.oneof(fc.uuid(), fc.string({ maxLength: 40 })).map((id) => `/s/${token}/artwork/${encodeURIComponent(id)}`),
      fc.constantFrom(`/s/${token}/comments`, `/s/${token}/comments/list`, `/s/${token}/more-time`),
      fc.oneof(fc.uuid(), fc.string({ maxLength: 40 })).map((id) => `/shares/${encodeURIComponent(id)}/extend`),
    );
    const ranges = fc.oneof(
      fc.constant(undefined),
      fc.string({ maxLength: 40 }),
      fc.constantFrom('bytes=0-1', 'bytes=-5', 'bytes=99999999-', 'bytes=5-1', 'bytes=0-0,2-3'),
    );
    const before = await databaseFingerprint(t.databaseUrl);
    await fc.assert(
      fc.asyncProperty(
        publicPaths,
        fc.constantFrom('GET', 'POST'),
        queries,
        ranges,
        bodies,
        async (target, method, query, range, body) => {
          const anon = t.client().agent;
          let req = method === 'GET' ? anon.get(target) : anon.post(target);
          req = req.query(query).redirects(0);
          if (range) req = req.set('Range', range);
          const res =
            method === 'GET'
              ? await req
              : await req
                  .type('form')
                  .send(typeof body === 'object' && body ? (body as object) : { value: String(body) });
          // A 503 with Retry-After is a clean "not yet" (listen-only audio whose preview is still being built).
          const clean = res.status < 500 || (res.status === 503 && Boolean(res.headers['retry-after']));
          expect({ target, status: clean ? true : res.text.slice(0, 200) }).toEqual({ target, status: true });
          expect({ target, leak: LEAKS.test(res.text ?? '') ? (res.text ?? '').slice(0, 300) : null }).toEqual({
            target,
            leak: null,
          });
        },
      ),
      { numRuns: 300, seed: 20261127 },
    );
    // Anonymous strangers changed nothing (share counters aside, which live in Redis until flushed).
    const after = await databaseFingerprint(t.databaseUrl);
    for (const table of Object.keys(before).filter((name) => !/share/.test(name)))
      expect({ table, digest: after[table] }).toEqual({ table, digest: before[table] });
  });
});
