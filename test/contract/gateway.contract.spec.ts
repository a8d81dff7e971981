import { Dropbox } from 'dropbox';
import nodeFetch from 'node-fetch';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { emulatorDropboxClient, type RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { DropboxConflict, DropboxNotFound, DropboxPermanent } from '../../src/modules/dropbox/dropbox.errors';
import type { DropboxAccountClient } from '../../src/modules/dropbox/dropbox.gateway';
import { DropboxConnectionsService } from '../../src/modules/dropbox/dropbox-connections.service';
import { DropboxTokensService } from '../../src/modules/dropbox/dropbox-tokens.service';
import { DropboxConnection } from '../../src/modules/dropbox/entities/dropbox-connection.entity';
import { EntityManager } from '@mikro-orm/postgresql';
import { startTestApp, TestApp } from '../support/app';
import { dropboxEnv, seedConnection, startTestEmulator } from '../support/dropbox';
import { signedInUser } from '../support/users';

/**
 * The gateway's contract: every route the product calls, with the shapes it relies on. Runs against the emulator in
 * `npm test`, and against a real Dropbox account with `npm run test:dropbox-live` (DROPBOX_LIVE_APP_KEY and
 * DROPBOX_LIVE_REFRESH_TOKEN set): then it works only inside its own scratch folder, removed at the end.
 */
const LIVE = process.env.DROPBOX_LIVE === '1';
const CHUNK_MIB = 4;

function source(data: Buffer) {
  return { size: data.length, open: (offset: number) => Readable.from([data.subarray(offset)]) };
}

describe(`DropboxGateway contract (${LIVE ? 'real Dropbox' : 'emulator'})`, () => {
  let emulator: RunningDropboxEmulator | undefined;
  let t: TestApp;
  let client: DropboxAccountClient;
  let dbx: Dropbox;
  let scratch: string;

  beforeAll(async () => {
    const name = `${process.env.DROPBOX_LIVE_SCRATCH_FOLDER || 'pd-contract'}-${randomBytes(4).toString('hex')}`;
    scratch = `/${name}`;
    if (LIVE) {
      t = await startTestApp({
        env: {
          DROPBOX_APP_KEY: process.env.DROPBOX_LIVE_APP_KEY!,
          ...(process.env.DROPBOX_LIVE_APP_SECRET && { DROPBOX_APP_SECRET: process.env.DROPBOX_LIVE_APP_SECRET }),
          DROPBOX_UPLOAD_CHUNK_MIB: String(CHUNK_MIB),
        },
      });
      const user = await signedInUser(t);
      // An access token already expired: the first call refreshes it with the refresh token, as in production.
      await t.app.get(DropboxConnectionsService).store(user.id, {
        accountId: 'live',
        email: 'live@dropbox',
        displayName: 'live',
        refreshToken: process.env.DROPBOX_LIVE_REFRESH_TOKEN!,
        accessToken: 'expired',
        expiresInSeconds: 0,
        scope: '',
      });
      client = await t.app.get(DropboxConnectionsService).clientFor(user.id);
      const connection = await t.app.get(EntityManager).fork().findOneOrFail(DropboxConnection, { user: user.id });
      dbx = new Dropbox({
        accessToken: await t.app.get(DropboxTokensService).accessToken(connection.id),
        fetch: nodeFetch as never,
      });
    } else {
      emulator = await startTestEmulator({ strict: true });
      t = await startTestApp({ env: { ...dropboxEnv(emulator), DROPBOX_UPLOAD_CHUNK_MIB: String(CHUNK_MIB) } });
      const user = await signedInUser(t);
      await seedConnection(t, emulator, user, { email: 'contract@dropbox.test' });
      client = await t.app.get(DropboxConnectionsService).clientFor(user.id);
      dbx = emulatorDropboxClient(
        emulator.url,
        emulator.control.issueToken({ email: 'contract@dropbox.test' }).access_token,
      );
    }
  }, 60_000);

  afterAll(async () => {
    // Only the scratch folder this run made is removed.
    await dbx?.filesDeleteV2({ path: scratch }).catch(() => undefined);
    await t?.close();
    await emulator?.close();
  });

  it('folders, uploads (one call and a session), metadata by path and by id, listings', async () => {
    const folder = await client.createFolder(`${scratch}/Track`);
    expect(folder).toMatchObject({
      kind: 'folder',
      pathDisplay: `${scratch}/Track`,
      id: expect.stringMatching(/^id:/),
    });
    const small = randomBytes(10_000);
    const stored = await client.upload(`${scratch}/Track/small.wav`, source(small));
    expect(stored).toMatchObject({
      kind: 'file',
      size: small.length,
      rev: expect.any(String),
      contentHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      downloadable: true,
    });
    const large = randomBytes(CHUNK_MIB * 1024 * 1024 + 1000);
    expect((await client.upload(`${scratch}/Track/large.wav`, source(large))).size).toBe(large.length);
    expect(await client.getMetadata(stored.id)).toMatchObject({
      pathLower: `${scratch}/track/small.wav`.toLowerCase(),
    });
    const listed = await client.listFolder(`${scratch}/Track`, { recursive: true });
    expect(listed.map((e) => e.name).sort()).toEqual(['Track', 'large.wav', 'small.wav']);
    await expect(client.getMetadata(`${scratch}/nothing-here`)).rejects.toBeInstanceOf(DropboxNotFound);
  });

  it('files/upload refusals carry the reason beside the tag (UploadWriteFailed): a conflict is a conflict', async () => {
    await client.upload(`${scratch}/Track/taken.wav`, source(Buffer.from('first')));
    const err = await client
      .upload(`${scratch}/Track/taken.wav`, source(Buffer.from('second')))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DropboxConflict);
    expect((err as DropboxConflict).tags.slice(0, 2)).toEqual(['path', 'conflict']);
  });

  it('temporary links serve the bytes; space usage has used and allocated', async () => {
    const bytes = Buffer.from('linked bytes');
    const file = await client.upload(`${scratch}/Track/linked.txt`, source(bytes));
    const link = await client.temporaryLink(file.id);
    expect(link.entry.id).toBe(file.id);
    expect(Buffer.from(await (await fetch(link.link)).arrayBuffer())).toEqual(bytes);
    const usage = await client.spaceUsage();
    expect(usage.usedBytes).toBeGreaterThan(0);
    expect(usage.allocatedBytes).toBeGreaterThan(0);
  });

  it('shared folders: share, find by id, batch copy into it, members, refused addresses', async () => {
    const source1 = await client.upload(`${scratch}/Track/copy-me.wav`, source(randomBytes(2048)));
    const shared = await client.shareFolder(`${scratch}/Shared`);
    expect(shared.sharedFolderId).toMatch(/^\d+$/);
    expect(await client.shareFolder(`${scratch}/Shared`)).toMatchObject({ sharedFolderId: shared.sharedFolderId });
    expect((await client.sharedFolder(shared.sharedFolderId)).pathDisplay?.toLowerCase()).toBe(
      `${scratch}/shared`.toLowerCase(),
    );
    const launch = await client.startCopyBatch([{ fromPath: source1.id, toPath: `${scratch}/Shared/copy-me.wav` }], {
      intoSharedFolder: shared.sharedFolderId,
    });
    const results = launch.done ? launch.results : await client.waitForCopyBatch(launch.asyncJobId);
    expect(results).toEqual([{ ok: true, entry: expect.objectContaining({ contentHash: source1.contentHash }) }]);
    const members = await client.listFolderMembers(shared.sharedFolderId);
    expect(members.joined.length).toBeGreaterThanOrEqual(1);
    const refused = await client
      .addFolderMembers(shared.sharedFolderId, ['jörg@example.de'], 'editor')
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DropboxPermanent);
    expect((refused as DropboxPermanent).tags).toEqual(['bad_request']);
    expect((await client.listFolderMembers(shared.sharedFolderId)).invited).toEqual([]);
  });
});
