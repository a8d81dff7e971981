import {
  api,
  binary,
  makeTrack,
  MadeTrack,
  readZip,
  selectionOf,
  ShareWorld,
  startShareWorld,
  tokenOf,
} from '../integration/share-support';

/**
 * A Dropbox download cut halfway while the app streams it into a ZIP: the recipient gets a failed download, and
 * the process — which runs in this jest worker — keeps serving. Before zip-stream listened for its sources'
 * errors, the cut was an unhandled 'error' that ended the process.
 */
describe('share ZIPs when a Dropbox download is cut halfway', () => {
  let w: ShareWorld;
  let track: MadeTrack;
  /** Bounces and stems downloadable: what "Download all" packs. */
  let allToken: string;
  /** Projects downloadable: the Logic package comes as a ZIP of its folder. */
  let projectToken: string;
  let packageId: string;

  beforeAll(async () => {
    w = await startShareWorld();
    track = await makeTrack(w.producer, w.dbx, { title: 'Night Bus' });
    const sel = await selectionOf(w.producer, track.id);
    const all = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: Object.values(sel) }],
      downloads: { bounce: true, project: false, stem: true },
    });
    expect(all.status).toBe(201);
    allToken = tokenOf(all.body.url);
    packageId = (await selectionOf(w.producer, track.id))['Song.logicx'].slice(2);
    const projects = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: [`f:${packageId}`] }],
      downloads: { bounce: false, project: true, stem: false },
    });
    expect(projects.status).toBe(201);
    projectToken = tokenOf(projects.body.url);
  });
  afterEach(() => w.emulator.control.clearFaults());
  afterAll(async () => w?.close());

  const recipient = () => w.t.client();

  /**
   * A failed download must end at once. Without the fix, a production process dies on the cut; here jest catches
   * the stray error instead and the response never ends, so a deadline turns that into a failure of its own.
   */
  const DEADLINE_MS = 15_000;
  type Download = { zip: Record<string, Buffer> } | { failed: 'connection dropped' | 'timed out' | 'unreadable ZIP' };

  async function download(path: string): Promise<Download> {
    let res: Awaited<ReturnType<typeof binary>>;
    try {
      res = await binary(recipient().get(path)).timeout({ deadline: DEADLINE_MS });
    } catch (error) {
      // superagent marks its own deadline on the error; anything else is the app dropping the connection.
      return { failed: (error as { timeout?: number }).timeout ? 'timed out' : 'connection dropped' };
    }
    expect(res.status).toBe(200);
    try {
      return { zip: readZip(res.body as Buffer) };
    } catch {
      return { failed: 'unreadable ZIP' };
    }
  }

  /** How a download cut upstream reached the recipient: anything but a complete ZIP or a hang. */
  function expectFailed(outcome: Download, entries: Record<string, Buffer>) {
    const complete = 'zip' in outcome && Object.keys(entries).every((name) => outcome.zip[name]?.equals(entries[name]));
    const seen = 'failed' in outcome ? outcome.failed : complete ? 'complete ZIP' : 'entries missing';
    expect(['connection dropped', 'unreadable ZIP', 'entries missing']).toContain(seen);
  }

  /** The ZIP holds exactly these entries, each with the source bytes. */
  function expectWhole(outcome: Download, entries: Record<string, Buffer>) {
    expect(outcome).toEqual({ zip: expect.any(Object) });
    const { zip } = outcome as { zip: Record<string, Buffer> };
    expect(Object.keys(zip).sort()).toEqual(Object.keys(entries).sort());
    for (const [name, bytes] of Object.entries(entries)) expect(zip[name].equals(bytes)).toBe(true);
  }

  it('download all: a cut download fails that ZIP, and the next one is complete', async () => {
    const entries = {
      'Night Bus/Bounces/Alt mix.wav': track.bytes['Bounces/Alt mix.wav'],
      'Night Bus/Bounces/Master.wav': track.bytes['Bounces/Master.wav'],
      'Night Bus/Stems/Bass.wav': track.bytes['Stems/Bass.wav'],
      'Night Bus/Stems/Drums.wav': track.bytes['Stems/Drums.wav'],
    };
    // Whichever file comes first is longer than the cut, so the one-time fault really cuts a download.
    expect(Math.min(...Object.values(entries).map((bytes) => bytes.length))).toBeGreaterThan(1000);
    w.emulator.control.addFault({ route: 'temp_link', cutAfterBytes: 1000, times: 1 });

    expectFailed(await download(`/s/${allToken}/download-all`), entries);
    expect(w.emulator.control.faults()).toEqual([]);

    expectWhole(await download(`/s/${allToken}/download-all`), entries);
    expect((await recipient().get(`/s/${allToken}`)).status).toBe(200);
  });

  it('a package: a cut download fails its ZIP, and the next one is complete', async () => {
    const entries = {
      'Song.logicx/Alternatives/000/ProjectData': track.bytes['Projects/Song.logicx/Alternatives/000/ProjectData'],
      'Song.logicx/Resources/Info.plist': track.bytes['Projects/Song.logicx/Resources/Info.plist'],
    };
    // Info.plist is the package's smallest file (16 bytes): a cut after 10 bytes hits whichever file comes first.
    expect(Math.min(...Object.values(entries).map((bytes) => bytes.length))).toBeGreaterThan(10);
    w.emulator.control.addFault({ route: 'temp_link', cutAfterBytes: 10, times: 1 });
    const path = `/s/${projectToken}/files/${packageId}/download`;

    expectFailed(await download(path), entries);
    expect(w.emulator.control.faults()).toEqual([]);

    expectWhole(await download(path), entries);
    expect((await recipient().get(`/s/${projectToken}`)).status).toBe(200);
  });
});
