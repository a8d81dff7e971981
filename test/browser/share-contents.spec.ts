import type { Browser, Page } from 'playwright-core';
import { dropboxContentHash } from '../../tools/dropbox-emulator/content-hash';
import { makeWav } from '../../tools/fixtures/audio';
import {
  api,
  eventually,
  fetchBytes,
  makeTrack,
  MadeTrack,
  ShareWorld,
  startShareWorld,
  tokenOf,
} from '../integration/share-support';
import {
  collectPageProblems,
  describeInChromium,
  DESKTOP,
  launchChromium,
  signInThroughForm,
} from '../support/browser';

const mix = (n: number) =>
  makeWav({ seconds: 1 + n / 10, frequencies: [180 + 40 * n], channels: 1, sampleRate: 22_050 });

describeInChromium('shares that follow the work, in Chromium', () => {
  let w: ShareWorld;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  let tracks: MadeTrack[];
  let shareUrl: string;
  let shareId: string;

  beforeAll(async () => {
    w = await startShareWorld({ workers: true });
    tracks = [];
    // preview: bounces can be downloaded, so the download route shows what is served.
    for (const [i, title] of ['Ocean Drive', 'Paper Moon', 'Quiet Hours'].entries()) {
      tracks.push(
        await makeTrack(w.producer, w.dbx, { title, sharingStatus: 'preview' }, { 'Bounces/Master.wav': mix(i) }),
      );
    }
    browser = await launchChromium();
    const context = await browser.newContext(DESKTOP);
    page = await context.newPage();
    problems = collectPageProblems(page);
    await signInThroughForm(page, w.t.url, w.producer.email, w.producer.password);
  });
  afterAll(async () => {
    await browser?.close();
    await w?.close();
  });

  const listenerPage = async (url: string) => (await w.t.client().get(new URL(url).pathname)).text;

  it('picks two tracks on the tracks list, shares them, and the link lists both', async () => {
    await page.goto(`${w.t.url}/tracks`);
    await page.check(`input[name="tracks"][value="${tracks[0].id}"]`);
    await page.check(`input[name="tracks"][value="${tracks[1].id}"]`);
    await Promise.all([page.waitForURL(/\/shares\/new\?/), page.click('button:has-text("Share selected")')]);
    expect(await page.textContent('h1')).toBe('New share');
    await Promise.all([
      page.waitForURL(/\/shares\/[0-9a-f-]{36}$/),
      page.click('button:has-text("Create share link")'),
    ]);
    shareId = new URL(page.url()).pathname.split('/')[2];
    shareUrl = (await page.textContent('#share-url'))!.trim();
    const html = await listenerPage(shareUrl);
    expect(html).toContain('Ocean Drive');
    expect(html).toContain('Paper Moon');
    expect(html).not.toContain('Quiet Hours');
  });

  it('adds a third track on the share page: the same URL shows it', async () => {
    await page.goto(`${w.t.url}/shares/${shareId}`);
    await Promise.all([page.waitForURL(/\/contents$/), page.click('a:has-text("Edit contents")')]);
    await page.check(`input[name="add"][value="${tracks[2].id}"]`);
    await Promise.all([page.waitForURL(/\/contents\?/), page.click('button:has-text("Add to the list below")')]);
    expect(await page.isChecked(`input[name="files"][value^="${tracks[2].id}/"]`)).toBe(true);
    await Promise.all([
      page.waitForURL(new RegExp(`/shares/${shareId}$`)),
      page.click('button:has-text("Save contents")'),
    ]);
    expect((await page.textContent('#share-url'))!.trim()).toBe(shareUrl);
    expect(await listenerPage(shareUrl)).toContain('Quiet Hours');
  });

  it('replaces a file from the upload form: the share serves the new audio', async () => {
    const fileId = (
      (await api(w.producer).get(`/api/v1/shares/${shareId}`)).body.tracks as Array<{ id: string; files: string[] }>
    )
      .find((t) => t.id === tracks[0].id)!
      .files[0].slice(2);
    const served = async () => {
      const res = await w.t
        .client()
        .get(`/s/${tokenOf(shareUrl)}/files/${fileId}/download`)
        .redirects(0);
      return dropboxContentHash((await fetchBytes(res.headers.location)).body);
    };
    expect(await served()).toBe(dropboxContentHash(mix(0)));

    await page.goto(`${w.t.url}/tracks/${tracks[0].id}`);
    await page.selectOption('#upload-category', 'bounce');
    await page.setInputFiles('#upload-files', { name: 'Master.wav', mimeType: 'audio/wav', buffer: mix(5) });
    // The name is taken in Bounces: the form asks before sending anything.
    await page.click('#upload-form button[type="submit"]');
    await page.waitForSelector('#upload-conflict-question:not([hidden])');
    expect(await page.textContent('#upload-conflict-question')).toContain('Master.wav is already there');
    await page.check('input[name="conflict"][value="replace"]');
    await page.click('#upload-form button[type="submit"]');
    await page.waitForSelector('.upload-done .upload-status:has-text("stored as a new version")', { timeout: 30_000 });

    await eventually(served, (hash) => hash === dropboxContentHash(mix(5)));
    const library = (await api(w.producer).get(`/api/v1/tracks/${tracks[0].id}/library`)).body.items as Array<{
      id: string;
      name: string;
    }>;
    expect(library.filter((i) => i.name === 'Master.wav').map((i) => i.id)).toEqual([fileId]);
    expect(problems).toEqual([]);
  });
});
