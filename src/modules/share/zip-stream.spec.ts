import archiver from 'archiver';
import { PassThrough, Readable } from 'node:stream';
import { appendEntry } from './zip-stream';

describe('appendEntry', () => {
  it('writes each entry in turn and leaves no listener behind, however many entries', async () => {
    const archive = archiver('zip', { store: true });
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (chunk: Buffer) => chunks.push(chunk));
    archive.pipe(sink);
    const baseline = { error: archive.listenerCount('error'), entry: archive.listenerCount('entry') };
    for (let i = 0; i < 50; i += 1) {
      await appendEntry(archive, Readable.from([Buffer.from(`entry ${i}`)]), `file-${i}.txt`);
      expect({ error: archive.listenerCount('error'), entry: archive.listenerCount('entry') }).toEqual(baseline);
    }
    await archive.finalize();
    const zip = Buffer.concat(chunks);
    expect(zip.includes(Buffer.from('file-49.txt'))).toBe(true);
    expect(zip.includes(Buffer.from('entry 49'))).toBe(true);
  });

  it('rejects (instead of an unhandled error event) when the source fails halfway, and leaves no listener behind', async () => {
    const archive = archiver('zip', { store: true });
    archive.pipe(new PassThrough().resume());
    const baseline = { error: archive.listenerCount('error'), entry: archive.listenerCount('entry') };
    let sent = 0;
    const cut = new Readable({
      read() {
        if (sent++ < 2) this.push(Buffer.alloc(1000));
        else this.destroy(new Error('upstream went away'));
      },
    });
    await expect(appendEntry(archive, cut, 'broken.wav')).rejects.toThrow('upstream went away');
    expect({ error: archive.listenerCount('error'), entry: archive.listenerCount('entry') }).toEqual(baseline);
    archive.abort();
  });
});
