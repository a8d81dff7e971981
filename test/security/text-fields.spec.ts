import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { startTestApp, TestApp } from '../support/app';
import { databaseFingerprint } from '../support/db-fingerprint';
import { dropboxEnv, seedConnection, startTestEmulator } from '../support/dropbox';
import { signedInUser, TestUser } from '../support/users';

/**
 * Text no field needs: NUL (PostgreSQL refuses it, which was answered 503 "dependency unavailable"), lone surrogates
 * (silently stored as U+FFFD) and direction overrides (spoofed names). Each answers 400 naming the field, wherever
 * the text comes in — JSON, a form, a query string, a key — and changes nothing.
 */
const BAD = {
  NUL: 'Intro\u0000Mix',
  'a lone high surrogate': 'Intro \uD83D Mix',
  'a lone low surrogate': 'Intro \uDE00 Mix',
  'RIGHT-TO-LEFT OVERRIDE': 'evil\u202Egnp.exe',
  'LEFT-TO-RIGHT EMBEDDING': 'Mix\u202A',
  'FIRST STRONG ISOLATE': 'Mix\u2068 2',
};
const RULE = /NUL|lone surrogate|direction override/;

describe('security: NUL, lone surrogates and direction overrides in text', () => {
  let emulator: RunningDropboxEmulator;
  let t: TestApp;
  let producer: TestUser;
  let csrf: string;
  let trackId: string;

  beforeAll(async () => {
    emulator = await startTestEmulator();
    t = await startTestApp({ env: dropboxEnv(emulator) });
    producer = await signedInUser(t);
    await seedConnection(t, emulator, producer, { email: 'text@dropbox.test' });
    csrf = await producer.browser.csrfFrom('/settings');
    trackId = (await producer.browser.agent.post('/api/v1/tracks').set('X-CSRF-Token', csrf).send({ title: 'Plain' }))
      .body.id;
  });
  afterAll(async () => {
    await t?.close();
    await emulator?.close();
  });

  const json = (method: 'post' | 'patch', path: string, body: unknown) =>
    producer.browser.agent[method](path)
      .set('X-CSRF-Token', csrf)
      .set('Accept', 'application/json')
      .send(body as object);

  it.each(Object.entries(BAD))(
    'answers 400 naming the field for %s in a JSON field, changing nothing',
    async (_name, text) => {
      const before = await databaseFingerprint(t.databaseUrl);
      const attempts = [
        [await json('post', '/api/v1/tracks', { title: text }), 'title'],
        [await json('patch', `/api/v1/tracks/${trackId}`, { artist: text }), 'artist'],
        [await json('post', '/api/v1/collaborators', { name: 'Ana', email: 'ana@studio.test', role: text }), 'role'],
        [await json('post', '/api/v1/shares', { tracks: [{ trackId, files: [text] }] }), 'tracks.0.files.0'],
        [await json('post', '/api/v1/tracks', { title: 'ok', [text]: 1 }), text],
      ] as const;
      for (const [res, field] of attempts) {
        expect({ field, status: res.status, errors: res.body.errors, message: res.body.message }).toEqual({
          field,
          status: 400,
          errors: [{ field, message: expect.stringMatching(RULE) }],
          message: expect.stringMatching(RULE),
        });
      }
      expect(await databaseFingerprint(t.databaseUrl)).toEqual(before);
    },
  );

  // A lone surrogate has no UTF-8 form, so it can only arrive as a JSON escape: forms and URLs carry the others.
  it.each(Object.entries(BAD).filter(([name]) => !name.includes('surrogate')))(
    'answers 400 for %s in a form post and in a query string',
    async (_name, text) => {
      const form = await producer.browser.agent
        .post('/tracks')
        .redirects(0)
        .type('form')
        .send({ _csrf: csrf, title: text });
      expect(form.status).toBe(400);
      expect(form.text).toMatch(RULE);
      const query = await producer.browser.agent
        .get('/api/v1/tracks')
        .query({ q: text })
        .set('Accept', 'application/json');
      expect({ status: query.status, field: query.body.errors?.[0]?.field }).toEqual({ status: 400, field: 'q' });
      const anonymous = await t.client().agent.get('/login').query({ next: text });
      expect(anonymous.status).toBe(400);
    },
  );

  it('still takes right-to-left and astral text (the refusals are the characters’ doing)', async () => {
    const res = await json('post', '/api/v1/tracks', { title: 'שיר ערש 🎹 أغنية' });
    expect(res.status).toBe(201);
    expect(res.body.title).toBe('שיר ערש 🎹 أغنية');
  });
});
