import { EntityManager } from '@mikro-orm/postgresql';
import { Share } from '../../src/modules/share/entities/share.entity';
import { makeWav } from '../../tools/fixtures/audio';
import { api, binary, makeTrack, MadeTrack, readZip, ShareWorld, startShareWorld, tokenOf } from './share-support';

/**
 * Files Dropbox lists but can't serve: cloud documents (`is_downloadable: false`, `unsupported_file`), restricted
 * content and banned links. They read "can't be shared (Dropbox can't serve it)", can't be put on a share or a
 * pipeline, are left out of ZIPs with a note inside, and no share route answers 502 for them.
 */
describe("files Dropbox can't serve", () => {
  let w: ShareWorld;
  let track: MadeTrack;
  let library: Array<{
    id: string | null;
    name: string;
    dropboxId: string;
    imported: boolean;
    cantServe: string | null;
  }>;

  beforeAll(async () => {
    w = await startShareWorld();
    track = await makeTrack(
      w.producer,
      w.dbx,
      { title: 'Paper Moon', sharingStatus: 'collaborative' },
      {
        'Bounces/Master.wav': makeWav({ seconds: 1, frequencies: [440], channels: 1, sampleRate: 22_050 }),
        'Projects/Lyrics.gdoc': Buffer.from('{"url": "https://docs.google.com/document/d/x"}'),
        'Projects/Song.logicx/Alternatives/000/ProjectData': Buffer.from('logic data '.repeat(100)),
        'Projects/Song.logicx/Notes.paper': Buffer.from('{"paper": true}'),
        'Stems/Vocal.wav': makeWav({ seconds: 1, frequencies: [220], channels: 1, sampleRate: 22_050 }),
      },
    );
    library = (await api(w.producer).get(`/api/v1/tracks/${track.id}/library`)).body.items;
  });
  afterAll(async () => w?.close());

  const item = (name: string) => library.find((i) => i.name === name)!;
  const shareCount = () => w.t.app.get(EntityManager).fork().count(Share, {});
  const recipient = () => w.t.client();

  it('lists a cloud document as "can\'t be shared (Dropbox can\'t serve it)" in the library and on the Share tab', async () => {
    expect(item('Lyrics.gdoc').cantServe).toBe("can't be shared (Dropbox can't serve it)");
    expect(item('Master.wav').cantServe).toBeNull();
    const tab = await w.producer.browser.get(`/tracks/${track.id}/share`);
    expect(tab.text).toMatch(/value="d:[^"]+" disabled>\s*<span>Lyrics\.gdoc<\/span>/);
    expect(tab.text).toContain('data-cant-serve>can&#x27;t be shared (Dropbox can&#x27;t serve it)</span>');
    const page = await w.producer.browser.get(`/tracks/${track.id}`);
    expect(page.text).toContain('data-cant-serve');
  });

  it('refuses it on a share and on a collaboration pipeline (400 naming files), imported or not, creating nothing', async () => {
    const before = await shareCount();
    const direct = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: [`d:${item('Lyrics.gdoc').dropboxId}`] }],
    });
    expect(direct.status).toBe(400);
    expect(direct.body.errors).toEqual([
      { field: 'files', message: "“Lyrics.gdoc” can't be shared (Dropbox can't serve it)" },
    ]);
    const imported = await api(w.producer).post(`/api/v1/tracks/${track.id}/library/import`, {
      dropboxIds: [item('Lyrics.gdoc').dropboxId],
    });
    expect(imported.status).toBeLessThan(300);
    const fileId = imported.body[0].id as string;
    const byId = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: [`f:${fileId}`, `d:${item('Master.wav').dropboxId}`] }],
    });
    expect(byId.status).toBe(400);
    expect(await shareCount()).toBe(before);
    const collaborator = await api(w.producer).post('/api/v1/collaborators', {
      name: 'Lyricist',
      email: 'lyricist@example.com',
      role: 'writer',
    });
    await api(w.producer).post(`/api/v1/tracks/${track.id}/collaborators`, { collaboratorId: collaborator.body.id });
    const pipeline = await api(w.producer).post(`/api/v1/tracks/${track.id}/collaboration`, { files: [`f:${fileId}`] });
    expect(pipeline.status).toBe(400);
    expect(pipeline.body.errors).toEqual([
      expect.objectContaining({ field: 'files', message: expect.stringContaining("can't be shared") }),
    ]);
  });

  it('restricted content and banned links: no 502 from any share route, the file reads unavailable, ZIPs say what they left out', async () => {
    const files = ['Master.wav', 'Vocal.wav', 'Song.logicx'].map((n) => `d:${item(n).dropboxId}`);
    const created = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files }],
      downloads: { bounce: true, project: true, stem: true },
    });
    expect(created.status).toBe(201);
    const token = tokenOf(created.body.url);
    const shared = (await api(w.producer).get(`/api/v1/tracks/${track.id}/library`)).body.items as typeof library;
    const vocal = shared.find((i) => i.name === 'Vocal.wav')!;
    const pkg = shared.find((i) => i.name === 'Song.logicx')!;

    const owner = w.emulator.control
      .accounts()
      .find((a) => a.email === `share-${w.producer.id.slice(0, 8)}@dropbox.test`)!;
    w.emulator.control.setFileServing({
      account_id: owner.account_id,
      path: `${track.folder}/Stems/Vocal.wav`,
      block: 'restricted_content',
    });
    for (const action of ['play', 'download']) {
      const res = await recipient().get(`/s/${token}/files/${vocal.id}/${action}`);
      expect(res.status).toBe(404);
      expect(res.text).toMatch(/Dropbox can(&#x27;|')t serve this file/);
    }
    const page = await recipient().get(`/s/${token}`);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain(`/files/${vocal.id}/play`);

    const packageZip = await binary(recipient().get(`/s/${token}/files/${pkg.id}/download`));
    expect(packageZip.status).toBe(200);
    const inPackage = readZip(packageZip.body as Buffer);
    expect(Object.keys(inPackage).sort()).toEqual(['NOT INCLUDED.txt', 'Song.logicx/Alternatives/000/ProjectData']);
    expect(inPackage['NOT INCLUDED.txt'].toString()).toContain('Song.logicx/Notes.paper');

    const all = await binary(recipient().get(`/s/${token}/download-all`));
    expect(all.status).toBe(200);
    const entries = readZip(all.body as Buffer);
    expect(Object.keys(entries).sort()).toEqual([
      'NOT INCLUDED.txt',
      'Paper Moon/Bounces/Master.wav',
      'Paper Moon/Projects/Song.logicx/Alternatives/000/ProjectData',
    ]);
    expect(entries['NOT INCLUDED.txt'].toString()).toMatch(
      /Paper Moon\/Projects\/Song\.logicx\/Notes\.paper[\s\S]*Paper Moon\/Stems\/Vocal\.wav/,
    );

    // A banned link reads the same; once Dropbox serves a file again, so do we.
    const master = shared.find((i) => i.name === 'Master.wav')!;
    w.emulator.control.setFileServing({
      account_id: owner.account_id,
      path: `${track.folder}/Stems/Vocal.wav`,
      block: 'not_allowed',
    });
    const banned = await recipient().get(`/s/${token}/files/${vocal.id}/play`);
    expect(banned.status).toBe(404);
    w.emulator.control.setFileServing({
      account_id: owner.account_id,
      path: `${track.folder}/Stems/Vocal.wav`,
      block: null,
    });
    expect((await recipient().get(`/s/${token}/files/${vocal.id}/download`)).status).toBe(302);
    expect((await recipient().get(`/s/${token}/files/${master.id}/download`)).status).toBe(302);
    expect((await recipient().get(`/s/${token}`)).text).toContain(`/files/${vocal.id}/download`);
  });
});
