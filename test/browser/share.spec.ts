import AxeBuilder from '@axe-core/playwright';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { makeWav } from '../../tools/fixtures/audio';
import { api, makeTrack, MadeTrack, selectionOf, ShareWorld, startShareWorld, tokenOf } from '../integration/share-support';
import { launchChromium } from '../support/browser';

const VNU = join(__dirname, '../../node_modules/vnu-jar/build/dist/vnu.jar');
const run = promisify(execFile);

/** Nu HTML Checker errors per document (one JVM for all of them; warnings are not errors). */
async function vnuErrors(pages: Record<string, string>): Promise<Record<string, string[]>> {
  const dir = mkdtempSync(join(tmpdir(), 'pd-vnu-'));
  try {
    const files = Object.entries(pages).map(([name, html]) => {
      const file = join(dir, `${name}.html`);
      writeFileSync(file, html);
      return file;
    });
    // vnu exits non-zero when it finds errors; the JSON report is on stderr either way.
    const result = await run('java', ['-jar', VNU, '--errors-only', '--format', 'json', ...files]).catch((err: { stderr?: string; code?: unknown }) => {
      if (err.code === 'ENOENT') throw new Error('java is not installed: the Nu HTML Checker (vnu-jar) needs a Java runtime');
      return err;
    });
    // No report at all means the checker did not run: never a silent pass.
    if (!result.stderr) throw new Error('vnu printed no report');
    const report = JSON.parse(result.stderr) as { messages: Array<{ type: string; url: string; message: string; extract?: string }> };
    const byPage: Record<string, string[]> = Object.fromEntries(Object.keys(pages).map((name) => [name, [] as string[]]));
    for (const m of report.messages) {
      if (m.type !== 'error') continue;
      const name = decodeURIComponent(m.url.split('/').pop() ?? '').replace(/\.html$/, '');
      (byPage[name] ??= []).push(`${m.message} ${m.extract ?? ''}`.trim());
    }
    return byPage;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type Media = { play(): Promise<void>; paused: boolean; currentTime: number };
/** Runs in the page (the spec compiles without DOM types). */
const playedPastHalfSecond = (selector: string) =>
  ((globalThis as unknown as { document: { querySelector(s: string): Media | null } }).document.querySelector(selector)?.currentTime ?? 0) > 0.5;

describe('the playlist page in Chromium', () => {
  let w: ShareWorld;
  let browser: Browser;
  let track: MadeTrack;
  let token: string;
  let ids: Record<string, string>;
  let downloads: string;

  beforeAll(async () => {
    w = await startShareWorld();
    track = await makeTrack(w.producer, w.dbx, { title: 'Harbour Lights', sharingStatus: 'preview', bpm: 118, key: 'D major', artist: 'Cleo' }, {
      'Bounces/Harbour Lights.wav': makeWav({ seconds: 4, frequencies: [261.6, 329.6, 392] }),
      'Projects/Harbour.als': Buffer.from('ableton '.repeat(100)),
      'Stems/Keys.wav': makeWav({ seconds: 4, frequencies: [523.3] }),
      'Stems/Pad.wav': makeWav({ seconds: 4, frequencies: [196] }),
    });
    const sel = await selectionOf(w.producer, track.id);
    const res = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: Object.values(sel) }],
      message: 'Final mixes for Friday',
    });
    token = tokenOf(res.body.url);
    ids = Object.fromEntries(Object.entries(await selectionOf(w.producer, track.id)).map(([n, v]) => [n, v.slice(2)]));
    downloads = mkdtempSync(join(tmpdir(), 'pd-downloads-'));
    browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
  });
  afterAll(async () => {
    await browser?.close();
    await w?.close();
    if (downloads) rmSync(downloads, { recursive: true, force: true });
  });

  it('plays, downloads what is permitted, hides what is not, and passes axe', async () => {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    const external: string[] = [];
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (url.origin !== w.t.url && url.origin !== w.emulator.url) external.push(r.url());
    });
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(`${m.text()} ${m.location().url}`));

    const res = await page.goto(`${w.t.url}/s/${token}`);
    expect(res?.status()).toBe(200);
    await expect(page.locator('h1').textContent()).resolves.toBe('Harbour Lights');

    // The track's player (the bounce, via a redirect to its temporary link) plays: its time advances.
    const player = page.locator('audio.share-player');
    await player.evaluate((a) => (a as unknown as Media).play());
    await page.waitForFunction(playedPastHalfSecond, 'audio.share-player', { timeout: 15_000 });

    // A stem (downloads disabled: relayed through our server with Range) plays too, and the bounce pauses.
    const stem = page.locator(`audio[src="/s/${token}/files/${ids['Keys.wav']}/play"]`);
    await stem.evaluate((a) => (a as unknown as Media).play());
    await page.waitForFunction(playedPastHalfSecond, `audio[src="/s/${token}/files/${ids['Keys.wav']}/play"]`, { timeout: 15_000 });
    expect(await player.evaluate((a) => (a as unknown as Media).paused)).toBe(true);

    // Download the permitted bounce: the bytes are the source's.
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator(`a[href="/s/${token}/files/${ids['Harbour Lights.wav']}/download"]`).click()]);
    const saved = join(downloads, 'bounce.wav');
    await download.saveAs(saved);
    expect(readFileSync(saved).equals(track.bytes['Bounces/Harbour Lights.wav'])).toBe(true);

    // Stems and projects have no download button here.
    const hrefs = await page.locator('a.share-download').evaluateAll((links) => links.map((a) => a.getAttribute('href')));
    expect(hrefs).toEqual([`/s/${token}/files/${ids['Harbour Lights.wav']}/download`]);
    await expect(page.locator('li.share-file', { hasText: 'Keys.wav' }).locator('a').count()).resolves.toBe(0);
    await expect(page.locator('li.share-file', { hasText: 'Harbour.als' }).textContent()).resolves.toContain('Listed only');

    const axe = await new AxeBuilder({ page }).analyze();
    const serious = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
    expect(external).toEqual([]);
    // CSP violations and failed loads show up as console errors.
    expect(errors).toEqual([]);
    await context.close();
  });

  it('the password form passes axe and opens the share', async () => {
    const locked = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: [`f:${ids['Keys.wav']}`] }],
      password: 'let me in now',
    });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${w.t.url}/s/${tokenOf(locked.body.url)}`);
    await page.fill('#password', 'let me in now');
    const axe = await new AxeBuilder({ page }).analyze();
    expect(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
    await Promise.all([page.waitForURL(`${w.t.url}/s/${tokenOf(locked.body.url)}`), page.click('button[type="submit"]')]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Harbour Lights');
    await context.close();
  });

  it('the page, the password form and the error page are valid HTML (Nu HTML Checker)', async () => {
    const locked = await api(w.producer).post('/api/v1/shares', { tracks: [{ trackId: track.id, files: [`f:${ids['Pad.wav']}`] }], password: 'let me in now' });
    const revoked = await api(w.producer).post('/api/v1/shares', { tracks: [{ trackId: track.id, files: [`f:${ids['Pad.wav']}`] }] });
    await api(w.producer).post(`/api/v1/shares/${revoked.body.id}/revoke`);
    const pages = {
      playlist: await (await fetch(`${w.t.url}/s/${token}`)).text(),
      password: await (await fetch(`${w.t.url}/s/${tokenOf(locked.body.url)}`)).text(),
      revoked: await (await fetch(`${w.t.url}/s/${tokenOf(revoked.body.url)}`)).text(),
      owner: (await w.producer.browser.get(`/tracks/${track.id}/share`)).text,
      list: (await w.producer.browser.get('/shares')).text,
      detail: (await w.producer.browser.get(`/shares/${revoked.body.id}`)).text,
    };
    const errors = await vnuErrors(pages);
    expect(errors).toEqual(Object.fromEntries(Object.keys(pages).map((name) => [name, []])));
  });
});
