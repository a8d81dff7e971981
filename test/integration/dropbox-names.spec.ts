import { MikroORM } from '@mikro-orm/postgresql';
import { readdir } from 'node:fs/promises';
import { Upload } from '../../src/modules/files/entities/upload.entity';
import { CollabEnv, filesIn, isFinal, makeTrack, startCollabEnv, waitForCollab } from './collaboration-support';

/**
 * Names Dropbox refuses: system files (.DS_Store, desktop.ini, Thumbs.db, Icon\r, .dropbox…), a trailing space, a
 * name over 255 characters, and — for years — emoji. An upload of nothing else is refused naming each file; in a
 * multi-file upload they are skipped with a note and the rest stored; track folders never depend on emoji.
 */
describe('names Dropbox refuses', () => {
  let env: CollabEnv;
  let spoolDir: string;

  beforeAll(async () => {
    spoolDir = `/tmp/pd-names-${process.pid}`;
    // The emulator answers emoji in paths as the API did for years: with a 400.
    env = await startCollabEnv({ emulator: { strict: false, refuseNonBmpPaths: true }, env: { SPOOL_DIR: spoolDir } });
  });
  afterAll(async () => {
    await env?.close();
  });

  const boundary = 'pd-names-boundary';
  /** Built by hand: form libraries rewrite names such as "Icon\r". */
  const multipart = (files: Array<[string, string]>) =>
    Buffer.concat([
      ...files.map(([name, content]) =>
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename*=UTF-8''${encodeURIComponent(name)}\r\nContent-Type: application/octet-stream\r\n\r\n${content}\r\n`,
        ),
      ),
      Buffer.from(`--${boundary}--\r\n`),
    ]);
  const send = async (trackId: string, files: Array<[string, string]>) => {
    const csrf = await env.producer.browser.csrfFrom('/settings');
    return env.producer.browser.agent
      .post(`/api/v1/tracks/${trackId}/uploads`)
      .set('X-CSRF-Token', csrf)
      .set('Content-Type', `multipart/form-data; boundary=${boundary}`)
      .send(multipart(files));
  };
  const uploadCount = () => env.t.app.get(MikroORM).em.fork().count(Upload, {});

  it('an upload of only refused names answers 400 naming each file, keeping nothing', async () => {
    const track = await makeTrack(env.producer, { files: 0, collaborators: [] });
    const before = await uploadCount();
    const only = await send(track.id, [['.DS_Store', 'finder']]);
    expect(only.status).toBe(400);
    expect(only.body.errors).toEqual([
      { field: 'files', message: expect.stringMatching(/^"\.DS_Store": Dropbox does not store system files/) },
    ]);

    const several = await send(track.id, [
      ['Thumbs.db', 'x'],
      ['desktop.ini', 'y'],
      ['take .wav ', 'z'],
      [`${'x'.repeat(252)}.wav`, 'w'],
    ]);
    expect(several.status).toBe(400);
    expect(several.body.errors.map((e: { message: string }) => e.message)).toEqual([
      expect.stringMatching(/^"Thumbs\.db": Dropbox does not store system files/),
      expect.stringMatching(/^"desktop\.ini": Dropbox does not store system files/),
      expect.stringMatching(/^"take \.wav ": Dropbox does not accept a name ending in a space/),
      expect.stringMatching(/Dropbox does not accept a name longer than 255 characters/),
    ]);
    expect(await uploadCount()).toBe(before);
    expect(await readdir(spoolDir).catch(() => [])).toEqual([]);
  });

  it('a dragged macOS folder: .DS_Store and Icon\\r are skipped with a note each, the rest stored', async () => {
    const track = await makeTrack(env.producer, { files: 0, collaborators: [] });
    const res = await send(track.id, [
      ['.DS_Store', 'finder'],
      ['Lead vox.wav', 'vocals'],
      ['Icon\r', ''],
      ['Bass.wav', 'bass'],
    ]);
    expect(res.status).toBe(201);
    expect(res.body).toEqual([
      expect.objectContaining({ fileName: 'Lead vox.wav', status: 'queued', id: expect.any(String) }),
      expect.objectContaining({ fileName: 'Bass.wav', status: 'queued', id: expect.any(String) }),
      {
        id: null,
        fileName: '.DS_Store',
        status: 'skipped',
        error: expect.stringMatching(/Dropbox does not store system files/),
      },
      {
        id: null,
        fileName: 'Icon\r',
        status: 'skipped',
        error: expect.stringMatching(/Dropbox does not store system files/),
      },
    ]);
    const deadline = Date.now() + 20_000;
    while (
      (await filesIn(env.producer.dbx, `${track.folderPath}/Bounces`).catch(() => [])).length < 2 &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await filesIn(env.producer.dbx, track.folderPath)).toEqual(['Bounces/Bass.wav', 'Bounces/Lead vox.wav']);

    // The form without JavaScript says the same in its notice.
    const csrf = await env.producer.browser.csrfFrom(`/tracks/${track.id}`);
    const form = await env.producer.browser.agent
      .post(`/tracks/${track.id}/uploads?_csrf=${encodeURIComponent(csrf)}`)
      .set('Content-Type', `multipart/form-data; boundary=${boundary}`)
      .send(
        multipart([
          ['Thumbs.db', 'x'],
          ['Keys.wav', 'keys'],
        ]),
      )
      .redirects(0);
    expect(form.status).toBe(303);
    const page = await env.producer.browser.get(`/tracks/${track.id}`);
    expect(page.text).toMatch(/Received 1 file: .*Skipped Thumbs\.db: Dropbox does not store system files/);
  });

  it('a title with emoji keeps it in the dashboard; its Dropbox folders keep to characters Dropbox always accepted', async () => {
    const created = await env.producer.api.post('/api/v1/tracks', { title: 'Sunset 🌅 Drive' });
    expect(created.status).toBe(201);
    expect(created.body.title).toBe('Sunset 🌅 Drive');
    expect(created.body.dropboxFolderPath).toBe('/Producer Dashboard/Sunset Drive');
    expect(
      (await env.producer.dbx.filesGetMetadata({ path: '/Producer Dashboard/Sunset Drive/Bounces' })).result['.tag'],
    ).toBe('folder');
    const page = await env.producer.browser.get(`/tracks/${created.body.id}`);
    expect(page.text).toContain('Sunset 🌅 Drive');

    const up = await send(created.body.id, [['Master.wav', 'master']]);
    expect(up.status).toBe(201);
    const collaborator = await env.producer.api.post('/api/v1/collaborators', {
      name: 'Emoji Fan',
      email: 'emoji-fan@example.com',
      role: 'vocalist',
    });
    await env.producer.api.post(`/api/v1/tracks/${created.body.id}/collaborators`, {
      collaboratorId: collaborator.body.id,
    });
    const deadline = Date.now() + 20_000;
    let items: Array<{ id: string; name: string }> = [];
    while (items.length === 0 && Date.now() < deadline) {
      items = (await env.producer.api.get(`/api/v1/tracks/${created.body.id}/library`)).body.items.filter(
        (i: { imported: boolean }) => i.imported,
      );
      await new Promise((r) => setTimeout(r, 100));
    }
    await env.producer.api.post(`/api/v1/tracks/${created.body.id}/collaboration`, {
      files: items.map((i) => `f:${i.id}`),
    });
    const view = await waitForCollab(env.producer, created.body.id, isFinal);
    expect(view.status).toBe('done');
    expect(view.folder!.path).toMatch(/^\/Producer Dashboard\/Collaboration\/Sunset Drive \([0-9a-f]{8}\)$/);
  });
});
