import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { startTestApp, TestApp } from '../support/app';
import { dropboxEnv, seedConnection, startTestEmulator } from '../support/dropbox';
import { fillPath, ownedFixtures, OwnedFixtures } from '../support/fixtures';
import { ApiOperation, apiOperations, OpenApiDocument, sampleBody } from '../support/openapi';
import { signedInUser, TestUser } from '../support/users';

/**
 * Generated from the OpenAPI document: every /api/v1 route that takes an id is called by a second producer with the
 * first producer's ids (expect 404, no data) and anonymously (expect 401). A new route whose ids this sweep can't
 * fill fails the test until a fixture is added here — so no route escapes the check.
 */
describe('security: every API route keeps other producers’ data invisible', () => {
  let emulator: RunningDropboxEmulator;
  let t: TestApp;
  let owner: TestUser;
  let intruder: TestUser;
  let doc: OpenApiDocument;
  let operations: ApiOperation[];
  let fixtures: OwnedFixtures;

  beforeAll(async () => {
    emulator = await startTestEmulator();
    t = await startTestApp({ env: { ...dropboxEnv(emulator), SPOOL_DIR: `/tmp/pd-own-spool-${process.pid}` } });
    owner = await signedInUser(t);
    intruder = await signedInUser(t);
    fixtures = await ownedFixtures(t, emulator, owner);
    await seedConnection(t, emulator, intruder, { email: 'intruder@dropbox.test' });
    ({ doc, operations } = await apiOperations(owner.browser));
  });
  afterAll(async () => {
    await t?.close();
    await emulator?.close();
  });

  const fill = (path: string) => fillPath(path, fixtures.ids);

  const scoped = () => operations.filter((op) => op.params.length > 0 && !op.path.startsWith('/api/v1/admin/'));

  it('covers every route that takes an id', () => {
    expect(scoped().length).toBeGreaterThan(15);
    for (const op of scoped()) expect(() => fill(op.path)).not.toThrow();
  });

  it('answers 404 — never 403, never data — when another producer uses the owner’s ids', async () => {
    const csrf = await intruder.browser.csrfFrom('/settings');
    for (const op of scoped()) {
      const res = await intruder.browser.agent[op.method](fill(op.path))
        .set('X-CSRF-Token', csrf)
        .send((sampleBody(doc, op) ?? {}) as object);
      const route = `${op.method.toUpperCase()} ${op.path}`;
      expect({ route, status: res.status }).toEqual({ route, status: 404 });
      for (const secret of fixtures.secrets)
        expect({ route, leaked: res.text.includes(secret) }).toEqual({ route, leaked: false });
    }
  });

  it('answers 401 to anonymous callers on every API route', async () => {
    for (const op of operations) {
      const path = op.params.length ? fill(op.path) : op.path;
      const res = await t
        .client()
        .agent[op.method](path)
        .send((sampleBody(doc, op) ?? {}) as object);
      const route = `${op.method.toUpperCase()} ${op.path}`;
      expect({ route, status: res.status }).toEqual({ route, status: 401 });
    }
  });

  it('still serves the owner (the ids are real)', async () => {
    expect((await owner.browser.agent.get(`/api/v1/tracks/${fixtures.ids.tracks}`)).status).toBe(200);
    expect((await owner.browser.agent.get(`/api/v1/uploads/${fixtures.ids.uploads}`)).status).toBe(200);
  });
});
