import { api, makeTrack, selectionOf, ShareWorld, startShareWorld, tokenOf } from '../integration/share-support';
import { signedInUser, TestUser } from '../support/users';

/**
 * An admin disabling a producer stops that producer's links on every route at once — even with the link's record
 * and page cached — and enabling the account restores them. Admins see every producer's links and can revoke any.
 */
describe('security: a disabled producer’s share links', () => {
  let w: ShareWorld;
  let admin: TestUser;
  let token: string;
  let fileId: string;
  let othersShareId: string;
  let othersToken: string;

  beforeAll(async () => {
    w = await startShareWorld();
    admin = await signedInUser(w.t, 'admin');
    const track = await makeTrack(
      w.producer,
      w.dbx,
      { title: 'Label Pitch' },
      { 'Bounces/Master.wav': Buffer.from('RIFF master') },
    );
    const sel = await selectionOf(w.producer, track.id);
    const res = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: Object.values(sel) }],
      downloads: { bounce: true },
    });
    expect(res.status).toBe(201);
    token = tokenOf(res.body.url);
    const page = await w.t.client().get(`/s/${token}`);
    fileId = /\/files\/([0-9a-f-]{36})\/download/.exec(page.text)![1];

    const theirs = await makeTrack(
      w.other,
      w.otherDbx,
      { title: 'Other Studio Demo' },
      { 'Bounces/Demo.wav': Buffer.from('RIFF demo') },
    );
    const theirSel = await selectionOf(w.other, theirs.id);
    const other = await api(w.other).post('/api/v1/shares', {
      tracks: [{ trackId: theirs.id, files: Object.values(theirSel) }],
    });
    othersShareId = other.body.id;
    othersToken = tokenOf(other.body.url);
  });
  afterAll(async () => {
    await w?.close();
  });

  const routes = () => [
    `/s/${token}`,
    `/s/${token}/files/${fileId}/download`,
    `/s/${token}/files/${fileId}/play`,
    `/s/${token}/download-all`,
  ];

  async function statuses(): Promise<Record<string, number>> {
    const visitor = w.t.client();
    const result: Record<string, number> = {};
    for (const route of routes()) result[route] = (await visitor.get(route)).status;
    return result;
  }

  const setDisabled = async (disabled: boolean) => {
    const res = await admin.browser.submit(
      '/admin/users',
      `/admin/users/${w.producer.id}/${disabled ? 'disable' : 'enable'}`,
      {},
    );
    expect(res.status).toBe(303);
  };

  it('answers 410 "This link has been disabled" on every route while the account is disabled, and works again after', async () => {
    // Warm every cache first: the record, the rendered page.
    const open = await statuses();
    expect(Object.values(open).every((s) => s === 200 || s === 302)).toBe(true);

    await setDisabled(true);
    expect(await statuses()).toEqual(Object.fromEntries(routes().map((r) => [r, 410])));
    const page = await w.t.client().get(`/s/${token}`);
    expect(page.text).toContain('This link has been disabled');
    expect(page.text).not.toContain('Label Pitch');
    expect((await w.t.client().agent.head(`/s/${token}/download-all`)).status).toBe(410);
    // Another producer's links are untouched.
    expect((await w.t.client().get(`/s/${othersToken}`)).status).toBe(200);

    await setDisabled(false);
    expect(await statuses()).toEqual(open);
  });

  it('lists every producer’s links for admins, who can revoke any of them', async () => {
    const list = await admin.browser.get('/admin/shares');
    expect(list.status).toBe(200);
    expect(list.text).toContain('Label Pitch');
    expect(list.text).toContain('Other Studio Demo');
    expect(list.text).toContain(w.other.email);
    expect(list.text).toContain(`/admin/shares/${othersShareId}/revoke`);

    const revoked = await admin.browser.submit('/admin/shares', `/admin/shares/${othersShareId}/revoke`, {});
    expect(revoked.status).toBe(303);
    const gone = await w.t.client().get(`/s/${othersToken}`);
    expect(gone.status).toBe(410);
    expect(gone.text).toContain('This link has been disabled');
    expect((await api(w.other).get(`/api/v1/shares/${othersShareId}`)).body.status).toBe('revoked');
  });

  it('is for admins only', async () => {
    // (Disabling above signed the producer out everywhere.)
    const producer = await signedInUser(w.t);
    expect((await producer.browser.get('/admin/shares')).status).toBe(403);
    const csrf = await producer.browser.csrfFrom('/settings');
    const attempt = await producer.browser.agent
      .post(`/admin/shares/${othersShareId}/revoke`)
      .redirects(0)
      .type('form')
      .send({ _csrf: csrf });
    expect(attempt.status).toBe(403);
    expect(
      (
        await admin.browser.submit(
          '/admin/shares',
          `/admin/shares/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}/revoke`,
          {},
        )
      ).status,
    ).toBe(404);
  });
});
