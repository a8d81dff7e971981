import { emulatorDropboxClient, type RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import type { TestApp } from './app';
import { seedConnection } from './dropbox';
import type { TestUser } from './users';

export interface OwnedFixtures {
  /** The owner's ids by the API collection that names them (`tracks/{id}` → ids.tracks). */
  ids: Record<string, string>;
  /** Texts only the owner's data contains: must never appear in another caller's response. */
  secrets: string[];
  /** The public share link token of the owner's share. */
  shareToken: string;
}

/**
 * One of everything a producer owns, made through the API: a track with an imported file, a collaborator on it,
 * a queued upload, a personal token and a share link.
 */
export async function ownedFixtures(
  t: TestApp,
  emulator: RunningDropboxEmulator,
  owner: TestUser,
): Promise<OwnedFixtures> {
  const dropboxEmail = `${owner.email.split('@')[0]}@dropbox.test`;
  await seedConnection(t, emulator, owner, { email: dropboxEmail });
  const csrf = await owner.browser.csrfFrom('/settings');
  const post = (path: string, body: object) => owner.browser.agent.post(path).set('X-CSRF-Token', csrf).send(body);
  const ids: Record<string, string> = {};
  const secrets: string[] = [];

  const track = await post('/api/v1/tracks', { title: 'Owner Secret Track', artist: 'Owner Secret Artist' });
  ids.tracks = track.body.id;
  secrets.push('Owner Secret Track', 'Owner Secret Artist');
  const dbx = emulatorDropboxClient(emulator.url, emulator.control.issueToken({ email: dropboxEmail }).access_token);
  await dbx.filesUpload({
    path: `${track.body.dropboxFolderPath}/Bounces/secret-mix.wav`,
    contents: Buffer.from('RIFF'),
  });
  const found = (await owner.browser.agent.get(`/api/v1/tracks/${ids.tracks}/library`)).body.items[0];
  ids.files = (await post(`/api/v1/tracks/${ids.tracks}/library/import`, { dropboxIds: [found.dropboxId] })).body[0].id;
  secrets.push('secret-mix.wav');

  const collaborator = await post('/api/v1/collaborators', {
    name: 'Owner Secret Person',
    email: 'secret@example.com',
    role: 'mixer',
  });
  ids.collaborators = collaborator.body.id;
  // Collaboration routes name a track's collaborator as a folder member.
  ids.members = collaborator.body.id;
  secrets.push('secret@example.com');
  await post(`/api/v1/tracks/${ids.tracks}/collaborators`, { collaboratorId: ids.collaborators });

  const upload = await owner.browser.agent
    .post(`/api/v1/tracks/${ids.tracks}/uploads`)
    .set('X-CSRF-Token', csrf)
    .attach('files', Buffer.from('spooled'), 'secret-upload.wav');
  ids.uploads = upload.body[0].id;
  ids.tokens = (await post('/api/v1/tokens', { name: 'owner token' })).body.token.id;
  // An address literal: public, and saving it needs no DNS look-up (workers are off, so nothing is ever sent).
  ids.webhooks = (
    await post('/api/v1/webhooks', { url: 'https://203.0.114.7/owner-secret-hook', events: ['share.opened'] })
  ).body.id;
  secrets.push('owner-secret-hook');
  // Admin routes: only the anonymous sweep uses them (producers get 403 there, tested with the accounts).
  ids.users = owner.id;

  const share = await post('/api/v1/shares', {
    tracks: [{ trackId: ids.tracks, files: [`f:${ids.files}`] }],
    title: 'Owner Secret Share',
    comments: true,
  });
  ids.shares = share.body.id;
  secrets.push('Owner Secret Share');
  // A recipient's own link to that share (shares/{id}/recipients/{rid}).
  ids.recipients = (
    await post(`/api/v1/shares/${ids.shares}/recipients`, {
      name: 'Owner Secret Recipient',
      email: 'secret-recipient@example.com',
    })
  ).body.id;
  secrets.push('Owner Secret Recipient', 'secret-recipient@example.com');
  const shareToken = String(share.body.url ?? '').split('/s/')[1] ?? String(share.body.token ?? '');
  // A recipient's comment on it, posted as a visitor does (the comments page gives the share links' CSRF token).
  const visitor = t.client();
  const visitorCsrf = await visitor.csrfFrom(`/s/${shareToken}/comments`);
  const comment = await visitor.agent
    .post(`/s/${shareToken}/comments`)
    .set('Accept', 'application/json')
    .type('form')
    .send({ _csrf: visitorCsrf, fileId: ids.files, at: '0', body: 'Owner secret comment', name: 'Visitor' });
  if (comment.status !== 201) throw new Error(`comment fixture: ${comment.status} ${comment.text.slice(0, 200)}`);
  ids.comments = comment.body.id;
  secrets.push('Owner secret comment');
  return { ids, secrets, shareToken };
}

/** Replaces each `{param}` of an API path with the owner's id of the collection named just before it. */
export function fillPath(path: string, ids: Record<string, string>): string {
  return path.replace(/([\w-]+)\/\{(\w+)\}/g, (_whole, collection: string, param: string) => {
    const id = ids[collection];
    if (!id)
      throw new Error(
        `no fixture for {${param}} after "${collection}" in ${path}: add one to test/support/fixtures.ts`,
      );
    return `${collection}/${id}`;
  });
}
