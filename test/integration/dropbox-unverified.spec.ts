import { ShareTuning } from '../../src/modules/share/share-tuning';
import { CollabEnv, isFinal, makeTrack, startCollabEnv, waitForCollab } from './collaboration-support';

const VERIFY = 'Verify your email address at Dropbox to share files';

/**
 * A Dropbox account whose email is not verified gets no temporary links (`email_not_verified`) and can't share
 * (`email_unverified`). Share pages say playback is paused (as for an expired connection), never a 502; the producer
 * reads "Verify your email address at Dropbox to share files" and re-checks once done; then everything works again.
 */
describe('a Dropbox account whose email is not verified', () => {
  let env: CollabEnv;

  beforeAll(async () => {
    env = await startCollabEnv();
    env.t.app.get(ShareTuning).pageCacheMs = 1; // each view renders afresh
  });
  afterAll(async () => {
    await env?.close();
  });

  it('pauses share links, tells the producer what to do, and recovers after a re-check', async () => {
    const { producer, emulator } = env;
    const track = await makeTrack(producer, { files: 2, collaborators: [{}] });
    // Unverified from the start (a new Dropbox account): no link was ever handed out for these files.
    emulator.control.setEmailVerified({ account_id: producer.accountId, email_verified: false });
    const created = await producer.api.post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: track.selection }],
      downloads: { stem: true },
    });
    expect(created.status).toBe(201);
    const token = new URL(created.body.url).pathname.split('/')[2];
    const fileId = (
      (await producer.api.get(`/api/v1/tracks/${track.id}/library`)).body.items as Array<{ id: string }>
    )[0].id;

    const recipient = env.t.client();
    const play = await recipient.get(`/s/${token}/files/${fileId}/play`).set('Accept', 'application/json');
    expect(play.status).toBe(503);
    expect(play.body.message).toMatch(/^Playback and downloads are paused/);
    const page = await recipient.get(`/s/${token}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('data-downloads-paused');
    expect(page.text).not.toContain(`/files/${fileId}/play`);

    const settings = await producer.browser.get('/settings');
    expect(settings.text).toContain(`data-email-unverified>\n      ${VERIFY}.`);
    expect(settings.text).toContain('action="/settings/dropbox/recheck"');
    expect((await producer.browser.get(`/tracks/${track.id}/share`)).text).toContain(`data-email-unverified>${VERIFY}`);
    expect((await producer.api.get('/api/v1/dropbox')).body.emailUnverified).toMatchObject({ message: VERIFY });

    // Sharing with collaborators is refused with the same words, and waits for Retry.
    await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    const failed = await waitForCollab(producer, track.id, isFinal);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'email_unverified', message: expect.stringContaining(VERIFY) });

    // A re-check before verifying says so; after verifying, the flag goes and links play again.
    const early = await producer.browser.submit('/settings', '/settings/dropbox/recheck', {});
    expect(early.status).toBe(303);
    expect((await producer.browser.get('/settings')).text).toContain(
      'Dropbox still says your email address is not verified',
    );
    emulator.control.setEmailVerified({ account_id: producer.accountId, email_verified: true });
    const checked = await producer.api.post('/api/v1/dropbox/recheck');
    expect(checked.status).toBe(200);
    expect(checked.body.emailUnverified).toBeNull();
    expect((await recipient.get(`/s/${token}/files/${fileId}/play`)).status).toBe(302);
    expect((await recipient.get(`/s/${token}`)).text).not.toContain('data-downloads-paused');
    expect((await producer.api.post(`/api/v1/tracks/${track.id}/collaboration/retry`)).status).toBe(202);
    expect((await waitForCollab(producer, track.id, isFinal)).status).toBe('done');
  });
});
