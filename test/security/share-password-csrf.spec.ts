import { api, makeTrack, selectionOf, ShareWorld, startShareWorld, tokenOf } from '../integration/share-support';

/**
 * Share links run without a session, but their one form — the password form — still needs its CSRF token
 * (the signed double-submit cookie). Every post here carries the right password, so only the token decides.
 */
describe('security: the share password form needs its CSRF token', () => {
  let w: ShareWorld;
  let token: string;

  beforeAll(async () => {
    w = await startShareWorld();
    const track = await makeTrack(
      w.producer,
      w.dbx,
      { title: 'Locked Session' },
      { 'Bounces/Master.wav': Buffer.from('RIFF') },
    );
    const sel = await selectionOf(w.producer, track.id);
    const res = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: Object.values(sel) }],
      password: 'open sesame',
    });
    expect(res.status).toBe(201);
    token = tokenOf(res.body.url);
  });
  afterAll(async () => {
    await w?.close();
  });

  const unlockCookie = (res: { headers: Record<string, unknown> }) =>
    ([] as string[])
      .concat((res.headers['set-cookie'] as string[] | undefined) ?? [])
      .find((c) => c.startsWith('pd_share='));

  it('refuses the right password without a valid token, and stays locked', async () => {
    const page = `/s/${token}`;
    const form = { password: 'open sesame' };
    // A cross-site form post: no CSRF cookie and no token.
    const stranger = w.t.client();
    // A visitor with the page open: the cookie, but a missing, forged or someone else's token.
    const visitor = w.t.client();
    expect((await visitor.get(page)).text).toContain('name="_csrf"');
    const othersToken = await w.t.client().csrfFrom(page);

    const attempts = {
      'no cookie, no token': await stranger.agent.post(page).redirects(0).type('form').send(form),
      'no token': await visitor.agent.post(page).redirects(0).type('form').send(form),
      'forged token': await visitor.agent
        .post(page)
        .redirects(0)
        .type('form')
        .send({ ...form, _csrf: 'forged-token' }),
      "another visitor's token": await visitor.agent
        .post(page)
        .redirects(0)
        .type('form')
        .send({ ...form, _csrf: othersToken }),
    };
    for (const [attempt, res] of Object.entries(attempts)) {
      expect({ attempt, status: res.status, unlocked: Boolean(unlockCookie(res)) }).toEqual({
        attempt,
        status: 403,
        unlocked: false,
      });
    }
    for (const browser of [stranger, visitor]) {
      const after = await browser.get(page);
      expect(after.text).toContain('password-protected');
      expect(after.text).not.toContain('Locked Session');
    }
  });

  it("opens with the page's own token (so the refusals above are the token's doing)", async () => {
    const page = `/s/${token}`;
    const visitor = w.t.client();
    const res = await visitor.submit(page, page, { password: 'open sesame' });
    expect(res.status).toBe(303);
    expect(unlockCookie(res)).toBeDefined();
    expect((await visitor.get(page)).text).toContain('Locked Session');
  });
});
