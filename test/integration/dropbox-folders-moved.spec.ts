import { randomBytes } from 'node:crypto';
import { CollabEnv, filesIn, isFinal, makeTrack, startCollabEnv, waitForCollab } from './collaboration-support';

/**
 * Folders that move: the collaboration pipeline finds its shared folder by its shared_folder_id, so a producer who
 * renames or moves it in Dropbox keeps sharing into it — never a new, unshared folder at the old path.
 */
describe('a shared collaboration folder moved or renamed in Dropbox', () => {
  let env: CollabEnv;

  beforeAll(async () => {
    env = await startCollabEnv();
  });
  afterAll(async () => {
    await env?.close();
  });

  it('"share with remaining" puts new files into the folder where it is now', async () => {
    const { producer } = env;
    const track = await makeTrack(producer, { files: 2, collaborators: [{}] });
    await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    const first = await waitForCollab(producer, track.id, isFinal);
    expect(first.status).toBe('done');
    const oldPath = first.folder!.path;

    await producer.dbx.filesMoveV2({ from_path: oldPath, to_path: '/Sessions/Our Session' });
    const added = await producer.dbx.filesUpload({ path: `${track.folderPath}/Stems/late-vocal.wav`, contents: randomBytes(1024) });
    expect((await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: [`d:${added.result.id}`] })).status).toBe(202);
    const second = await waitForCollab(producer, track.id, (v) => isFinal(v) && v.files.total === 3);
    expect(second.status).toBe('done');
    expect(second.folder!.path).toBe('/Sessions/Our Session');
    expect(await filesIn(producer.dbx, '/Sessions/Our Session')).toEqual([...track.files.map((f) => `Stems/${f.name}`), 'Stems/late-vocal.wav'].sort());
    await expect(producer.dbx.filesGetMetadata({ path: oldPath })).rejects.toMatchObject({ status: 409 });
  });
});
