import type { files } from 'dropbox';
import { dropboxContentHash } from './content-hash';
import { EmulatorFixture, dropboxError, startFixture } from './spec-support';

/** Revisions as Dropbox keeps them: a new revision of the same file (same id), its history, restore. */
describe('file revisions', () => {
  let fixture: EmulatorFixture;

  beforeAll(async () => {
    fixture = await startFixture();
  });

  afterAll(async () => {
    await fixture.emulator.close();
  });

  const take = (n: number) => Buffer.from(`vocal take ${n} `.repeat(50 + n));
  const download = async (path: string) => {
    const { result } = await fixture.dbx.filesGetTemporaryLink({ path });
    return Buffer.from(await (await fetch(result.link)).arrayBuffer());
  };

  it('upload in update mode writes a new revision of the same file: same id, new rev and content hash', async () => {
    const first = (await fixture.dbx.filesUpload({ path: '/Rev/Vocal.wav', contents: take(1) })).result;
    const second = (
      await fixture.dbx.filesUpload({
        path: '/Rev/Vocal.wav',
        contents: take(2),
        mode: { '.tag': 'update', update: first.rev },
      })
    ).result;
    expect(second.id).toBe(first.id);
    expect(second.rev).not.toBe(first.rev);
    expect(second.content_hash).toBe(dropboxContentHash(take(2)));
    expect(second.name).toBe('Vocal.wav');
    expect(await download(first.id)).toEqual(take(2));
  });

  it('update mode against a revision that is no longer current is a conflict (without autorename)', async () => {
    const first = (await fixture.dbx.filesUpload({ path: '/Rev/Stale.wav', contents: take(1) })).result;
    await fixture.dbx.filesUpload({ path: '/Rev/Stale.wav', contents: take(2), mode: { '.tag': 'overwrite' } });
    const err = await dropboxError<files.UploadError>(
      fixture.dbx.filesUpload({
        path: '/Rev/Stale.wav',
        contents: take(3),
        mode: { '.tag': 'update', update: first.rev },
      }),
    );
    expect(err.status).toBe(409);
    expect(err.error.error_summary).toMatch(/^path\/conflict\/file/);
  });

  it('list_revisions answers newest first, the current revision included, by path or id, within limit (has_more past it)', async () => {
    const a = (await fixture.dbx.filesUpload({ path: '/Rev/History.wav', contents: take(1) })).result;
    const b = (
      await fixture.dbx.filesUpload({
        path: '/Rev/History.wav',
        contents: take(2),
        mode: { '.tag': 'update', update: a.rev },
      })
    ).result;
    const c = (
      await fixture.dbx.filesUpload({
        path: '/Rev/History.wav',
        contents: take(3),
        mode: { '.tag': 'update', update: b.rev },
      })
    ).result;
    const byPath = (await fixture.dbx.filesListRevisions({ path: '/rev/history.wav' })).result;
    expect(byPath.is_deleted).toBe(false);
    expect(byPath.has_more).toBe(false);
    expect(byPath.entries.map((e) => e.rev)).toEqual([c.rev, b.rev, a.rev]);
    expect(byPath.entries.map((e) => e.content_hash)).toEqual([3, 2, 1].map((n) => dropboxContentHash(take(n))));
    expect(byPath.entries.map((e) => e.size)).toEqual([3, 2, 1].map((n) => take(n).length));
    expect(byPath.entries.every((e) => e.id === a.id && e.path_display === '/Rev/History.wav')).toBe(true);
    const byId = (await fixture.dbx.filesListRevisions({ path: a.id, mode: { '.tag': 'id' }, limit: 2 })).result;
    expect(byId.entries.map((e) => e.rev)).toEqual([c.rev, b.rev]);
    expect(byId.has_more).toBe(true); // one more revision than the limit
  });

  it('restore makes an earlier revision current again as a new revision, keeping the history', async () => {
    const a = (await fixture.dbx.filesUpload({ path: '/Rev/Restore.wav', contents: take(1) })).result;
    const b = (
      await fixture.dbx.filesUpload({
        path: '/Rev/Restore.wav',
        contents: take(2),
        mode: { '.tag': 'update', update: a.rev },
      })
    ).result;
    const restored = (await fixture.dbx.filesRestore({ path: a.id, rev: a.rev })).result;
    expect(restored.id).toBe(a.id);
    expect(restored.rev).not.toBe(a.rev);
    expect(restored.rev).not.toBe(b.rev);
    expect(restored.content_hash).toBe(dropboxContentHash(take(1)));
    expect(await download('/Rev/Restore.wav')).toEqual(take(1));
    const history = (await fixture.dbx.filesListRevisions({ path: '/Rev/Restore.wav' })).result.entries.map(
      (e) => e.rev,
    );
    expect(history).toEqual([restored.rev, b.rev, a.rev]);
  });

  it('refuses to restore a revision the file never had, or a missing file', async () => {
    await fixture.dbx.filesUpload({ path: '/Rev/Lonely.wav', contents: take(1) });
    const unknown = await dropboxError(fixture.dbx.filesRestore({ path: '/Rev/Lonely.wav', rev: '0123456789abcdef' }));
    expect(unknown.status).toBe(409);
    expect(unknown.error.error_summary).toMatch(/^invalid_revision/);
    const missing = await dropboxError(fixture.dbx.filesRestore({ path: '/Rev/Nobody.wav', rev: '0123456789abcdef' }));
    expect(missing.status).toBe(409);
    expect(missing.error.error_summary).toMatch(/^path_lookup\/not_found/);
    const listMissing = await dropboxError(fixture.dbx.filesListRevisions({ path: '/Rev/Nobody.wav' }));
    expect(listMissing.error.error_summary).toMatch(/^path\/not_found/);
  });

  it('keeps earlier revisions across a restart of a persistent emulator (their bytes are not collected)', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dataDir = mkdtempSync(join(tmpdir(), 'pd-emu-rev-'));
    try {
      let persistent = await startFixture({ dataDir });
      const a = (await persistent.dbx.filesUpload({ path: '/Keep.wav', contents: take(1) })).result;
      await persistent.dbx.filesUpload({
        path: '/Keep.wav',
        contents: take(2),
        mode: { '.tag': 'update', update: a.rev },
      });
      await persistent.emulator.close();
      persistent = await startFixture({ dataDir });
      const restored = (await persistent.dbx.filesRestore({ path: '/Keep.wav', rev: a.rev })).result;
      const { result } = await persistent.dbx.filesGetTemporaryLink({ path: restored.id });
      expect(Buffer.from(await (await fetch(result.link)).arrayBuffer())).toEqual(take(1));
      await persistent.emulator.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
