import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { emulatorDropboxClient } from '../../tools/dropbox-emulator';
import { startTestApp, TestApp } from '../support/app';
import { dropboxEnv, seedConnection, startTestEmulator } from '../support/dropbox';
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
  /** The owner's ids, by the path segment that names them (`tracks/{id}` → track). */
  const ids: Record<string, string> = {};
  const secrets: string[] = [];

  beforeAll(async () => {
    emulator = await startTestEmulator();
    t = await startTestApp({ env: { ...dropboxEnv(emulator), SPOOL_DIR: `/tmp/pd-own-spool-${process.pid}` } });
    owner = await signedInUser(t);
    intruder = await signedInUser(t);
    await seedConnection(t, emulator, owner, { email: 'owner@dropbox.test' });
    await seedConnection(t, emulator, intruder, { email: 'intruder@dropbox.test' });
    const csrf = await owner.browser.csrfFrom('/settings');
    const post = (path: string, body: object) => owner.browser.agent.post(path).set('X-CSRF-Token', csrf).send(body);

    const track = await post('/api/v1/tracks', { title: 'Owner Secret Track', artist: 'Owner Secret Artist' });
    ids.tracks = track.body.id;
    secrets.push('Owner Secret Track', 'Owner Secret Artist');
    const dbx = emulatorDropboxClient(emulator.url, emulator.control.issueToken({ email: 'owner@dropbox.test' }).access_token);
    await dbx.filesUpload({ path: `${track.body.dropboxFolderPath}/Bounces/secret-mix.wav`, contents: Buffer.from('RIFF') });
    const found = (await owner.browser.agent.get(`/api/v1/tracks/${ids.tracks}/library`)).body.items[0];
    ids.files = (await post(`/api/v1/tracks/${ids.tracks}/library/import`, { dropboxIds: [found.dropboxId] })).body[0].id;
    secrets.push('secret-mix.wav');
    const collaborator = await post('/api/v1/collaborators', { name: 'Owner Secret Person', email: 'secret@example.com', role: 'mixer' });
    ids.collaborators = collaborator.body.id;
    // Collaboration routes name a track's collaborator as a folder member.
    ids.members = collaborator.body.id;
    // Admin routes: only the 401 sweep uses them (producers get 403 there, tested with the accounts).
    ids.users = owner.id;
    secrets.push('secret@example.com');
    await post(`/api/v1/tracks/${ids.tracks}/collaborators`, { collaboratorId: ids.collaborators });
    const upload = await owner.browser.agent
      .post(`/api/v1/tracks/${ids.tracks}/uploads`)
      .set('X-CSRF-Token', csrf)
      .attach('files', Buffer.from('spooled'), 'secret-upload.wav');
    ids.uploads = upload.body[0].id;
    ids.tokens = (await post('/api/v1/tokens', { name: 'owner token' })).body.token.id;
    const share = await post('/api/v1/shares', { tracks: [{ trackId: ids.tracks, files: [`f:${ids.files}`] }], title: 'Owner Secret Share' });
    ids.shares = share.body.id;
    secrets.push('Owner Secret Share');
    ({ doc, operations } = await apiOperations(owner.browser));
  });
  afterAll(async () => {
    await t?.close();
    await emulator?.close();
  });

  /** The owner's id for a path parameter, from the collection named just before it. */
  function fill(path: string): string {
    return path.replace(/([\w-]+)\/\{(\w+)\}/g, (_whole, collection: string, param: string) => {
      const id = ids[collection];
      if (!id) throw new Error(`no fixture for {${param}} after "${collection}" in ${path}: add one to ownership-sweep.spec.ts`);
      return `${collection}/${id}`;
    });
  }

  const scoped = () => operations.filter((op) => op.params.length > 0 && !op.path.startsWith('/api/v1/admin/'));

  it('covers every route that takes an id', () => {
    expect(scoped().length).toBeGreaterThan(15);
    for (const op of scoped()) expect(() => fill(op.path)).not.toThrow();
  });

  it('answers 404 — never 403, never data — when another producer uses the owner’s ids', async () => {
    const csrf = await intruder.browser.csrfFrom('/settings');
    for (const op of scoped()) {
      const res = await intruder.browser.agent[op.method](fill(op.path)).set('X-CSRF-Token', csrf).send((sampleBody(doc, op) ?? {}) as object);
      const route = `${op.method.toUpperCase()} ${op.path}`;
      expect({ route, status: res.status }).toEqual({ route, status: 404 });
      for (const secret of secrets) expect({ route, leaked: res.text.includes(secret) }).toEqual({ route, leaked: false });
    }
  });

  it('answers 401 to anonymous callers on every API route', async () => {
    for (const op of operations) {
      const path = op.params.length ? fill(op.path) : op.path;
      const res = await t.client().agent[op.method](path).send((sampleBody(doc, op) ?? {}) as object);
      const route = `${op.method.toUpperCase()} ${op.path}`;
      expect({ route, status: res.status }).toEqual({ route, status: 401 });
    }
  });

  it('still serves the owner (the ids are real)', async () => {
    expect((await owner.browser.agent.get(`/api/v1/tracks/${ids.tracks}`)).status).toBe(200);
    expect((await owner.browser.agent.get(`/api/v1/uploads/${ids.uploads}`)).status).toBe(200);
  });
});
