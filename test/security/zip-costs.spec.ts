import { ShareTuning } from '../../src/modules/share/share-tuning';
import { ZipSlots } from '../../src/modules/share/zip-slots';
import {
  api,
  binary,
  makeTrack,
  readZip,
  selectionOf,
  ShareWorld,
  startShareWorld,
  tokenOf,
} from '../integration/share-support';

const PACKAGE_FILES = 40;

/**
 * A ZIP is cheap to ask for and costly to build. HEAD answers headers only and counts nothing; a package's listing is
 * reused (a 2,000-file package cost 2,002 Dropbox calls per request); builds are bounded per share and per process
 * (503 with Retry-After beyond); one download no longer adds a listener per entry.
 */
describe('security: what a ZIP costs', () => {
  let w: ShareWorld;
  let token: string;
  let shareId: string;
  let packageId = '';
  let otherToken: string;
  const calls = () => w.emulator.control.counters().callsByRoute;
  const sum = (byRoute: Record<string, number>) => Object.values(byRoute).reduce((a, b) => a + b, 0);

  beforeAll(async () => {
    w = await startShareWorld();
    const files: Record<string, Buffer> = { 'Bounces/Master.wav': Buffer.from('RIFF master'.repeat(100)) };
    for (let i = 0; i < PACKAGE_FILES; i++)
      files[`Projects/Big.logicx/Media/take-${String(i).padStart(2, '0')}.wav`] = Buffer.from(`take ${i} `.repeat(50));
    const track = await makeTrack(w.producer, w.dbx, { title: 'Big Session' }, files);
    const sel = await selectionOf(w.producer, track.id);
    const res = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: Object.values(sel) }],
      downloads: { bounce: true, project: true },
    });
    token = tokenOf(res.body.url);
    shareId = res.body.id;
    const page = await w.t.client().get(`/s/${token}`);
    // The package is the file whose download is a ZIP.
    for (const [, id] of page.text.matchAll(/\/files\/([0-9a-f-]{36})\/download/g)) {
      const head = await w.t.client().agent.head(`/s/${token}/files/${id}/download`);
      if (head.headers['content-type'] === 'application/zip') packageId = id;
    }
    const other = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: Object.values(sel) }],
      downloads: { bounce: true, project: true },
    });
    otherToken = tokenOf(other.body.url);
  });
  afterAll(async () => {
    await w?.close();
  });

  const downloads = async () =>
    (await api(w.producer).get(`/api/v1/shares/${shareId}`)).body.stats.downloads as Record<string, number>;

  it('answers HEAD of download-all and of a package with headers only: no Dropbox call, nothing counted', async () => {
    const before = { calls: sum(calls()), downloads: await downloads() };
    for (const path of [`/s/${token}/download-all`, `/s/${token}/files/${packageId}/download`]) {
      const res = await w.t.client().agent.head(path);
      expect({
        path,
        status: res.status,
        type: res.headers['content-type'],
        disposition: res.headers['content-disposition'],
      }).toEqual({
        path,
        status: 200,
        type: 'application/zip',
        disposition: expect.stringMatching(/^attachment; filename=".+\.zip"/),
      });
    }
    expect({ calls: sum(calls()), downloads: await downloads() }).toEqual(before);
  });

  it('lists a package once and reuses the listing (and its links) for the next download', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const first = await binary(w.t.client().get(`/s/${token}/files/${packageId}/download`));
      expect(first.status).toBe(200);
      expect(Object.keys(readZip(first.body as Buffer))).toHaveLength(PACKAGE_FILES);
      const before = { ...calls() };
      const second = await binary(w.t.client().get(`/s/${token}/files/${packageId}/download`));
      expect(second.status).toBe(200);
      // The same entries and bytes (entry dates differ between builds).
      expect(readZip(second.body as Buffer)).toEqual(readZip(first.body as Buffer));
      const after = calls();
      const made = Object.fromEntries(
        Object.entries(after)
          .map(([route, n]) => [route, n - (before[route] ?? 0)])
          .filter(([, n]) => (n as number) > 0),
      );
      expect(made).toEqual({});
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((x) => /MaxListeners/.test(x))).toEqual([]);
  });

  it('builds at most zipsPerShare ZIPs of one share at once: the next gets 503 with Retry-After', async () => {
    const tuning = w.t.app.get(ShareTuning);
    const slots = w.t.app.get(ZipSlots);
    tuning.zipsPerShare = 1;
    try {
      // The first build stalls on its first file (Dropbox holds the call until released), holding its slot.
      const fault = w.emulator.control.addFault({ route: 'temp_link', hold: true, times: 1 });
      await w.emulator.control.resetCounters();
      // (supertest sends on then(): start it now, read it later.)
      const first = binary(w.t.client().get(`/s/${token}/download-all`)).then((r) => r);
      await w.emulator.control.heldCall(fault.id);
      expect(slots.inProgress).toBe(1);
      const refused = await w.t.client().agent.get(`/s/${token}/download-all`).set('Accept', 'application/json');
      expect({ status: refused.status, retryAfter: refused.headers['retry-after'] }).toEqual({
        status: 503,
        retryAfter: '30',
      });
      expect(refused.body.message).toMatch(/try again in a minute/);
      // Another share is not held up by this one.
      expect((await binary(w.t.client().get(`/s/${otherToken}/download-all`))).status).toBe(200);
      w.emulator.control.releaseFault(fault.id);
      const done = await first;
      expect(done.status).toBe(200);
      expect(Object.keys(readZip(done.body as Buffer)).length).toBe(PACKAGE_FILES + 1);
      expect(w.emulator.control.faults().find((f) => f.id === fault.id)?.hits ?? 1).toBe(1);
      expect(slots.inProgress).toBe(0);
      expect((await binary(w.t.client().get(`/s/${token}/download-all`))).status).toBe(200);
    } finally {
      tuning.zipsPerShare = new ShareTuning().zipsPerShare;
      w.emulator.control.clearFaults();
    }
  });

  it('builds at most zipsPerProcess ZIPs at once in a process, whatever the shares', async () => {
    const tuning = w.t.app.get(ShareTuning);
    const slots = w.t.app.get(ZipSlots);
    tuning.zipsPerProcess = 1;
    try {
      const fault = w.emulator.control.addFault({ route: 'temp_link', hold: true, times: 1 });
      // (supertest sends on then(): start it now, read it later.)
      const first = binary(w.t.client().get(`/s/${token}/download-all`)).then((r) => r);
      await w.emulator.control.heldCall(fault.id);
      expect(slots.inProgress).toBe(1);
      const refused = await w.t.client().get(`/s/${otherToken}/download-all`);
      expect({ status: refused.status, retryAfter: refused.headers['retry-after'] }).toEqual({
        status: 503,
        retryAfter: '30',
      });
      w.emulator.control.releaseFault(fault.id);
      expect((await first).status).toBe(200);
    } finally {
      tuning.zipsPerProcess = new ShareTuning().zipsPerProcess;
      w.emulator.control.clearFaults();
    }
  });
});
