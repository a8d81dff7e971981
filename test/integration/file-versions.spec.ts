import { dropboxContentHash } from '../../tools/dropbox-emulator/content-hash';
import { makeWav } from '../../tools/fixtures/audio';
import {
  api,
  eventually,
  fetchBytes,
  makeTrack,
  MadeTrack,
  selectionOf,
  ShareWorld,
  startShareWorld,
  tokenOf,
  uploadFiles,
} from './share-support';

interface LibraryItemBody {
  id: string;
  name: string;
  imported: boolean;
  category: string;
  size: number;
  modifiedAt: string | null;
}

describe('new versions of files: replace on upload, revisions and restore, shares serve the current version', () => {
  let w: ShareWorld;
  let track: MadeTrack;
  const take = (n: number) =>
    makeWav({ seconds: 1 + n / 10, frequencies: [200 + 50 * n], channels: 1, sampleRate: 22_050 });

  beforeAll(async () => {
    w = await startShareWorld({ workers: true });
    // preview: bounces can be downloaded from a share.
    track = await makeTrack(
      w.producer,
      w.dbx,
      { title: 'Vocal Session', sharingStatus: 'preview' },
      { 'Bounces/Vocal Take 3.wav': take(1) },
    );
  });
  afterAll(async () => {
    await w?.close();
  });

  const library = async () =>
    (await api(w.producer).get(`/api/v1/tracks/${track.id}/library`)).body.items as LibraryItemBody[];
  const uploadsDone = () =>
    eventually(
      async () =>
        (await api(w.producer).get(`/api/v1/tracks/${track.id}/uploads`)).body as Array<{
          status: string;
          error: string | null;
        }>,
      (list) => list.every((u) => u.status === 'done' || u.status === 'failed'),
    );
  const bounceFolder = async () =>
    (await w.dbx.filesListFolder({ path: `${track.folder}/Bounces` })).result.entries.map((e) => e.name).sort();
  /** What a recipient downloads through the share (the route redirects to the file's current Dropbox link). */
  const downloaded = async (shareUrl: string, fileId: string) => {
    const res = await w.t
      .client()
      .get(`/s/${tokenOf(shareUrl)}/files/${fileId}/download`)
      .redirects(0);
    expect(res.status).toBe(302);
    const bytes = await fetchBytes(res.headers.location);
    expect(bytes.status).toBe(200);
    return dropboxContentHash(bytes.body);
  };

  let fileId: string;
  let shareUrl: string;

  it('a share made before the new version serves the first take', async () => {
    const sel = await selectionOf(w.producer, track.id);
    const share = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: [sel['Vocal Take 3.wav']] }],
    });
    expect(share.status).toBe(201);
    shareUrl = share.body.url;
    fileId = (await library()).find((i) => i.name === 'Vocal Take 3.wav')!.id;
    expect(await downloaded(shareUrl, fileId)).toBe(dropboxContentHash(take(1)));
  });

  it('keeps both by default (the new one renamed), and refuses an unknown conflict choice keeping nothing', async () => {
    const bad = await uploadFiles(
      w.producer,
      track.id,
      { category: 'bounce', conflict: 'overwrite' },
      { 'Vocal Take 3.wav': take(9) },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'conflict' })]);

    const res = await uploadFiles(w.producer, track.id, { category: 'bounce' }, { 'Vocal Take 3.wav': take(2) });
    expect(res.status).toBe(201);
    expect(res.body[0].conflict).toBe('rename');
    const done = await uploadsDone();
    expect(await bounceFolder()).toEqual(['Vocal Take 3 (2).wav', 'Vocal Take 3.wav']);
    // The progress row can say under which name it was kept, rather than just "stored".
    expect(done.find((u) => (u as { id?: string }).id === res.body[0].id)).toMatchObject({
      storedAs: 'Vocal Take 3 (2).wav',
      conflict: 'rename',
    });
    // That copy is its own file: the share still serves the first take.
    expect(await downloaded(shareUrl, fileId)).toBe(dropboxContentHash(take(1)));
  });

  it('replace writes a new revision of the same file: same library id and Dropbox id, new content hash, on every share at once', async () => {
    const before = (await w.dbx.filesGetMetadata({ path: `${track.folder}/Bounces/Vocal Take 3.wav` })).result as {
      id: string;
      rev: string;
    };
    const res = await uploadFiles(
      w.producer,
      track.id,
      { category: 'bounce', conflict: 'replace' },
      { 'vocal take 3.wav': take(3) },
    );
    expect(res.status).toBe(201);
    expect(res.body[0].conflict).toBe('replace');
    const done = await uploadsDone();
    expect(done.every((u) => u.status === 'done')).toBe(true);

    expect(await bounceFolder()).toEqual(['Vocal Take 3 (2).wav', 'Vocal Take 3.wav']);
    const after = (await w.dbx.filesGetMetadata({ path: before.id })).result as {
      id: string;
      rev: string;
      content_hash: string;
    };
    expect(after.id).toBe(before.id);
    expect(after.rev).not.toBe(before.rev);
    expect(after.content_hash).toBe(dropboxContentHash(take(3)));

    const items = await library();
    const same = items.filter((i) => i.name.toLowerCase() === 'vocal take 3.wav');
    expect(same).toHaveLength(1);
    expect(same[0].id).toBe(fileId);
    expect(same[0].size).toBe(take(3).length);
    expect(same[0].modifiedAt).toEqual(expect.any(String));
    // The share's page was rendered before; the new version is what it lists and what it serves.
    expect(await downloaded(shareUrl, fileId)).toBe(dropboxContentHash(take(3)));
    const page = await w.t.client().get(`/s/${tokenOf(shareUrl)}`);
    expect(page.text).toContain('Vocal Take 3.wav');
  });

  it('lists the revisions newest first and restores an earlier one, which every share then serves', async () => {
    const listed = await api(w.producer).get(`/api/v1/tracks/${track.id}/files/${fileId}/revisions`);
    expect(listed.status).toBe(200);
    const revisions = listed.body.revisions as Array<{
      rev: string;
      contentHash: string;
      current: boolean;
      modifiedAt: string;
    }>;
    expect(revisions.map((r) => r.contentHash)).toEqual([dropboxContentHash(take(3)), dropboxContentHash(take(1))]);
    expect(revisions.map((r) => r.current)).toEqual([true, false]);

    const restored = await api(w.producer).post(`/api/v1/tracks/${track.id}/files/${fileId}/restore`, {
      rev: revisions[1].rev,
    });
    expect(restored.status).toBe(200);
    expect(restored.body.id).toBe(fileId);
    expect(await downloaded(shareUrl, fileId)).toBe(dropboxContentHash(take(1)));
    const again = (await api(w.producer).get(`/api/v1/tracks/${track.id}/files/${fileId}/revisions`)).body
      .revisions as Array<{ contentHash: string }>;
    expect(again.map((r) => r.contentHash)).toEqual([take(1), take(3), take(1)].map(dropboxContentHash));
    // The audio facts follow the restored bytes (read again by the analysis job).
    await eventually(
      async () =>
        (await library()).find((i) => i.id === fileId) as LibraryItemBody & {
          audio: { durationSeconds: number | null } | null;
        },
      (item) => item.audio?.durationSeconds != null && Math.abs(item.audio.durationSeconds - 1.1) < 0.05,
    );
  });

  it('refuses a revision the file never had (400 naming rev) and another producer (404), changing nothing', async () => {
    const before = (await w.dbx.filesGetMetadata({ path: `${track.folder}/Bounces/Vocal Take 3.wav` })).result as {
      rev: string;
    };
    const unknown = await api(w.producer).post(`/api/v1/tracks/${track.id}/files/${fileId}/restore`, {
      rev: '0123456789abcdef',
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([expect.objectContaining({ field: 'rev' })]);
    const malformed = await api(w.producer).post(`/api/v1/tracks/${track.id}/files/${fileId}/restore`, {
      rev: 'id:nope',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors).toEqual([expect.objectContaining({ field: 'rev' })]);
    expect((await api(w.other).get(`/api/v1/tracks/${track.id}/files/${fileId}/revisions`)).status).toBe(404);
    expect(
      (await api(w.other).post(`/api/v1/tracks/${track.id}/files/${fileId}/restore`, { rev: before.rev })).status,
    ).toBe(404);
    const after = (await w.dbx.filesGetMetadata({ path: `${track.folder}/Bounces/Vocal Take 3.wav` })).result as {
      rev: string;
    };
    expect(after.rev).toBe(before.rev);
  });

  it('the track page asks Replace or Keep both, shows when a file was updated and links its versions; restoring works without JavaScript', async () => {
    const trackPage = await w.producer.browser.get(`/tracks/${track.id}`);
    expect(trackPage.text).toMatch(/name="conflict" value="rename" checked/);
    expect(trackPage.text).toContain('name="conflict" value="replace"');
    expect(trackPage.text).toContain('Replace (new version)');
    expect(trackPage.text).toMatch(/· updated \d{4}-\d\d-\d\d/);
    expect(trackPage.text).toContain(`href="/tracks/${track.id}/files/${fileId}/revisions"`);
    // The field order matters: conflict, like category, applies to the files after it.
    expect(trackPage.text.indexOf('name="conflict"')).toBeLessThan(trackPage.text.indexOf('name="files"'));

    const versions = await w.producer.browser.get(`/tracks/${track.id}/files/${fileId}/revisions`);
    expect(versions.status).toBe(200);
    const revs = [...versions.text.matchAll(/name="rev" value="([0-9a-f]+)"/g)].map((m) => m[1]);
    expect(revs.length).toBeGreaterThanOrEqual(2);
    expect(versions.text).toContain('current');
    const oldest = revs[revs.length - 1];
    const res = await w.producer.browser.submit(
      `/tracks/${track.id}/files/${fileId}/revisions`,
      `/tracks/${track.id}/files/${fileId}/restore`,
      { rev: oldest },
    );
    expect(res.status).toBe(303);
    const after = await w.producer.browser.get(res.headers.location);
    expect(after.text).toContain('is current again');
    expect(await downloaded(shareUrl, fileId)).toBe(dropboxContentHash(take(1)));
    const bad = await w.producer.browser.submit(
      `/tracks/${track.id}/files/${fileId}/revisions`,
      `/tracks/${track.id}/files/${fileId}/restore`,
      { rev: 'nope' },
    );
    expect(bad.status).toBe(303);
    expect((await w.producer.browser.get(bad.headers.location)).text).toContain(
      'Nothing restored: rev must be a revision id',
    );
    expect((await w.other.browser.get(`/tracks/${track.id}/files/${fileId}/revisions`)).status).toBe(404);
  });

  it('replace with nothing of that name uploads the file as new', async () => {
    const res = await uploadFiles(
      w.producer,
      track.id,
      { category: 'bounce', conflict: 'replace' },
      { 'Harmony.wav': take(4) },
    );
    expect(res.status).toBe(201);
    await uploadsDone();
    expect(await bounceFolder()).toEqual(['Harmony.wav', 'Vocal Take 3 (2).wav', 'Vocal Take 3.wav']);
    expect((await library()).find((i) => i.name === 'Harmony.wav')).toMatchObject({
      imported: true,
      category: 'bounce',
    });
  });

  it('Move moves the file into the category folder in Dropbox (by id, same file on shares), taking " (2)" when the name is taken', async () => {
    const harmony = (await library()).find((i) => i.name === 'Harmony.wav')!;
    const sel = await selectionOf(w.producer, track.id);
    const share = (
      await api(w.producer).post('/api/v1/shares', { tracks: [{ trackId: track.id, files: [sel['Harmony.wav']] }] })
    ).body;
    const before = (await w.dbx.filesGetMetadata({ path: `${track.folder}/Bounces/Harmony.wav` })).result as {
      id: string;
    };
    // Someone already has a stem of that name in Dropbox.
    await w.dbx.filesUpload({ path: `${track.folder}/Stems/Harmony.wav`, contents: take(7) });

    const res = await api(w.producer).patch(`/api/v1/tracks/${track.id}/files/${harmony.id}`, { category: 'stem' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: harmony.id,
      category: 'stem',
      name: 'Harmony (2).wav',
      dropboxPath: `${track.folder}/Stems/Harmony (2).wav`,
    });
    const moved = (await w.dbx.filesGetMetadata({ path: before.id })).result as { path_display: string };
    expect(moved.path_display).toBe(`${track.folder}/Stems/Harmony (2).wav`);
    expect(
      (await w.dbx.filesListFolder({ path: `${track.folder}/Bounces` })).result.entries.map((e) => e.name),
    ).not.toContain('Harmony.wav');
    // The other stem is untouched, and the share lists the moved file (now a stem, listen only here).
    expect(
      ((await w.dbx.filesGetMetadata({ path: `${track.folder}/Stems/Harmony.wav` })).result as { content_hash: string })
        .content_hash,
    ).toBe(dropboxContentHash(take(7)));
    expect((await w.t.client().get(`/s/${tokenOf(share.url)}`)).text).toContain('Harmony (2).wav');

    // Through the page too: back to Bounces, where its old name is free again.
    const page = await w.producer.browser.submit(
      `/tracks/${track.id}`,
      `/tracks/${track.id}/files/${harmony.id}/category`,
      { category: 'bounce' },
    );
    expect(page.status).toBe(303);
    expect((await w.producer.browser.get(page.headers.location)).text).toContain('in your Dropbox too');
    expect(((await w.dbx.filesGetMetadata({ path: before.id })).result as { path_display: string }).path_display).toBe(
      `${track.folder}/Bounces/Harmony (2).wav`,
    );
    expect(await downloaded(share.url, harmony.id)).toBe(dropboxContentHash(take(4)));
  });
});
