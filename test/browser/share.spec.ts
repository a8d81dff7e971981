import AxeBuilder from '@axe-core/playwright';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntityManager } from '@mikro-orm/postgresql';
import type { Browser } from 'playwright-core';
import { MediaPreview } from '../../src/modules/media/entities/media-preview.entity';
import { makeWav } from '../../tools/fixtures/audio';
import {
  api,
  makeTrack,
  MadeTrack,
  selectionOf,
  ShareWorld,
  startShareWorld,
  tokenOf,
} from '../integration/share-support';
import { launchChromium, PHONE } from '../support/browser';
import { vnuErrors } from '../support/vnu';
import { eventually } from '../faults/support';

type Media = { play(): Promise<void>; paused: boolean; currentTime: number };
/** The page's player (public/js/player.js exposes it for tests); runs in the page (the spec has no DOM types). */
type PagePlayer = { audio: Media & { duration: number }; current: string | null };
type Win = { pdPlayer: PagePlayer };

async function readyPreviews(w: ShareWorld, fileIds: string[]): Promise<void> {
  await eventually(
    'previews built',
    () =>
      w.t.app
        .get(EntityManager)
        .fork()
        .count(MediaPreview, { file: { $in: fileIds }, status: 'ready' }),
    (n) => n === fileIds.length,
    { timeoutMs: 60_000 },
  );
}

describe('the playlist page in Chromium', () => {
  let w: ShareWorld;
  let browser: Browser;
  let track: MadeTrack;
  let second: MadeTrack;
  let token: string;
  let listenOnly: string;
  let ids: Record<string, string>;
  let secondIds: Record<string, string>;
  let downloads: string;

  beforeAll(async () => {
    w = await startShareWorld({ workers: true });
    track = await makeTrack(
      w.producer,
      w.dbx,
      { title: 'Harbour Lights', sharingStatus: 'preview', bpm: 118, key: 'D major', artist: 'Cleo' },
      {
        'Bounces/Harbour Lights.wav': makeWav({ seconds: 2, frequencies: [261.6, 329.6, 392] }),
        'Projects/Harbour.als': Buffer.from('ableton '.repeat(100)),
        'Stems/Keys.wav': makeWav({ seconds: 2, frequencies: [523.3] }),
        'Stems/Pad.wav': makeWav({ seconds: 2, frequencies: [196] }),
      },
    );
    second = await makeTrack(
      w.producer,
      w.dbx,
      { title: 'Low Tide', sharingStatus: 'private', artist: 'Cleo' },
      {
        'Bounces/Low Tide.wav': makeWav({ seconds: 3, frequencies: [146.8, 220] }),
      },
    );
    const sel = await selectionOf(w.producer, track.id);
    const res = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: Object.values(sel) }],
      message: 'Final mixes for Friday',
    });
    token = tokenOf(res.body.url);
    ids = Object.fromEntries(Object.entries(await selectionOf(w.producer, track.id)).map(([n, v]) => [n, v.slice(2)]));
    const secondSel = await selectionOf(w.producer, second.id);
    const quiet = await api(w.producer).post('/api/v1/shares', {
      tracks: [
        { trackId: track.id, files: [`f:${ids['Harbour Lights.wav']}`, `f:${ids['Keys.wav']}`] },
        { trackId: second.id, files: Object.values(secondSel) },
      ],
      downloads: { bounce: false, project: false, stem: false },
    });
    listenOnly = tokenOf(quiet.body.url);
    secondIds = Object.fromEntries(
      Object.entries(await selectionOf(w.producer, second.id)).map(([n, v]) => [n, v.slice(2)]),
    );
    await readyPreviews(w, [ids['Harbour Lights.wav'], ids['Keys.wav'], ids['Pad.wav'], secondIds['Low Tide.wav']]);
    downloads = mkdtempSync(join(tmpdir(), 'pd-downloads-'));
    browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
  });
  afterAll(async () => {
    await browser?.close();
    await w?.close();
    if (downloads) rmSync(downloads, { recursive: true, force: true });
  });

  it('listen-only: one player streams AAC, seeks on the waveform, plays on to the next track, with lock-screen metadata', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const external: string[] = [];
    const audioTypes: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).origin !== w.t.url) external.push(r.url());
    });
    page.on('response', (r) => {
      if (/\/files\/[^/]+\/play(\?|$)/.test(r.url())) audioTypes.push(`${r.status()} ${r.headers()['content-type']}`);
    });
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(`${m.text()} ${m.location().url}`));

    expect((await page.goto(`${w.t.url}/s/${listenOnly}`))?.status()).toBe(200);
    // Nothing offers a download: no link, and every native player says nodownload.
    await expect(page.locator('a[href*="/download"]').count()).resolves.toBe(0);
    const lists = await page.locator('audio').evaluateAll((els) => els.map((a) => a.getAttribute('controlslist')));
    expect(lists.length).toBeGreaterThan(0);
    expect(lists.every((l) => l === 'nodownload')).toBe(true);
    // The one player bar takes over from the native players.
    await expect(page.locator('#player-bar').isVisible()).resolves.toBe(true);
    await expect(page.locator('.share-player').first().isVisible()).resolves.toBe(false);

    // Play the first track: its time advances, the bytes are AAC in MP4 (the preview), the lock screen knows it.
    await page.locator(`button[data-play="${ids['Harbour Lights.wav']}"]`).click();
    await page.waitForFunction(
      () =>
        (globalThis as unknown as Win).pdPlayer.current !== null &&
        (globalThis as unknown as Win).pdPlayer.audio.currentTime > 0.3,
      undefined,
      { timeout: 20_000 },
    );
    expect(audioTypes.length).toBeGreaterThan(0);
    expect(audioTypes.filter((t) => !/^20[06] audio\/mp4$/.test(t))).toEqual([]);
    const metadata = await page.evaluate(() => {
      const m = (
        globalThis as unknown as {
          navigator: { mediaSession: { metadata: { title: string; artist: string; album: string } | null } };
        }
      ).navigator.mediaSession.metadata;
      return m && { title: m.title, artist: m.artist, album: m.album };
    });
    expect(metadata).toEqual({ title: 'Harbour Lights', artist: 'Cleo', album: expect.any(String) });
    await expect(page.locator('[data-bar-title]').textContent()).resolves.toBe('Harbour Lights');

    // The first track ends and the second starts by itself.
    await page.waitForFunction(
      (next) =>
        (globalThis as unknown as Win).pdPlayer.current === next &&
        (globalThis as unknown as Win).pdPlayer.audio.currentTime > 0.2,
      secondIds['Low Tide.wav'],
      { timeout: 20_000 },
    );
    await expect(page.locator('[data-bar-announce]').textContent()).resolves.toContain('Low Tide');

    // A click on the first track's waveform plays it from there (three quarters in).
    const wave = page.locator(`[data-seek="${ids['Harbour Lights.wav']}"]`);
    const box = (await wave.boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.75, box.y + box.height / 2);
    // The played part is drawn on the waveform. Checked in the same poll as the position: the track is 2 s long, so
    // half a second after the seek it ends and the next one takes over (its waveform then shows the progress).
    await page.waitForFunction(
      (file) => {
        const player = (globalThis as unknown as Win).pdPlayer;
        const progress = (
          globalThis as unknown as {
            document: { querySelector(s: string): { getAttribute(n: string): string } | null };
          }
        ).document.querySelector(`[data-seek="${file}"] [data-progress]`);
        return (
          player.current === file && player.audio.currentTime > 1.2 && Number(progress?.getAttribute('width')) > 400
        );
      },
      ids['Harbour Lights.wav'],
      { timeout: 20_000 },
    );
    expect(await wave.getAttribute('role')).toBe('slider');

    // Keyboard: space pauses, N goes to the next track.
    await page.locator('body').press(' ');
    await page.waitForFunction(() => (globalThis as unknown as Win).pdPlayer.audio.paused);
    await page.keyboard.press('n');
    await page.waitForFunction(
      (next) => (globalThis as unknown as Win).pdPlayer.current === next,
      secondIds['Low Tide.wav'],
    );

    const axe = await new AxeBuilder({ page }).analyze();
    const serious = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
    expect(external).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('without JavaScript the waveforms are drawn and the native players work', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${w.t.url}/s/${listenOnly}`);
    await expect(page.locator('svg.wave').count()).resolves.toBe(2);
    const d = await page.locator('svg.wave path').first().getAttribute('d');
    expect(d).toMatch(/^(M\d+ \d+h3v\d+h-3z){200}$/);
    await expect(page.locator('#player-bar').isVisible()).resolves.toBe(false);
    await expect(page.locator('audio.share-player').first().isVisible()).resolves.toBe(true);
    await context.close();
  });

  it('at 390 px the player bar fits and every control is reachable', async () => {
    const context = await browser.newContext(PHONE);
    const page = await context.newPage();
    await page.goto(`${w.t.url}/s/${listenOnly}`);
    const overflow = await page.evaluate(() => {
      const doc = globalThis as unknown as {
        document: { documentElement: { scrollWidth: number } };
        innerWidth: number;
      };
      return doc.document.documentElement.scrollWidth - doc.innerWidth;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    for (const selector of [
      '[data-bar="prev"]',
      '[data-bar="toggle"]',
      '[data-bar="next"]',
      '[data-bar-seek]',
      '[data-seek]',
    ]) {
      const b = (await page.locator(selector).first().boundingBox())!;
      expect(b.x).toBeGreaterThanOrEqual(0);
      expect(b.x + b.width).toBeLessThanOrEqual(390);
    }
    await page.locator(`button[data-play="${ids['Harbour Lights.wav']}"]`).tap();
    await page.waitForFunction(() => (globalThis as unknown as Win).pdPlayer.audio.currentTime > 0.2, undefined, {
      timeout: 20_000,
    });
    await context.close();
  });

  it('downloads what is permitted, hides what is not, and passes axe', async () => {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(`${m.text()} ${m.location().url}`));
    expect((await page.goto(`${w.t.url}/s/${token}`))?.status()).toBe(200);
    await expect(page.locator('h1').textContent()).resolves.toBe('Harbour Lights');

    // A stem (listen-only) plays from its own row.
    await page.locator(`button[data-play="${ids['Keys.wav']}"]`).click();
    await page.waitForFunction(
      (file) =>
        (globalThis as unknown as Win).pdPlayer.current === file &&
        (globalThis as unknown as Win).pdPlayer.audio.currentTime > 0.3,
      ids['Keys.wav'],
      { timeout: 20_000 },
    );

    // Download the permitted bounce: the bytes are the source's.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator(`a[href="/s/${token}/files/${ids['Harbour Lights.wav']}/download"]`).click(),
    ]);
    const saved = join(downloads, 'bounce.wav');
    await download.saveAs(saved);
    expect(readFileSync(saved).equals(track.bytes['Bounces/Harbour Lights.wav'])).toBe(true);

    // Stems and projects have no download button here.
    const hrefs = await page
      .locator('a.share-download')
      .evaluateAll((links) => links.map((a) => a.getAttribute('href')));
    expect(hrefs).toEqual([`/s/${token}/files/${ids['Harbour Lights.wav']}/download`]);
    await expect(page.locator('li.share-file', { hasText: 'Keys.wav' }).locator('a').count()).resolves.toBe(0);
    await expect(page.locator('li.share-file', { hasText: 'Harbour.als' }).textContent()).resolves.toContain(
      'Listed only',
    );

    const axe = await new AxeBuilder({ page }).analyze();
    const serious = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
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
    await Promise.all([
      page.waitForURL(`${w.t.url}/s/${tokenOf(locked.body.url)}`),
      page.click('button[type="submit"]'),
    ]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Harbour Lights');
    await context.close();
  });

  it('the page, the password form and the error page are valid HTML (Nu HTML Checker)', async () => {
    const locked = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: [`f:${ids['Pad.wav']}`] }],
      password: 'let me in now',
    });
    const revoked = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: [`f:${ids['Pad.wav']}`] }],
    });
    await api(w.producer).post(`/api/v1/shares/${revoked.body.id}/revoke`);
    const pages = {
      playlist: await (await fetch(`${w.t.url}/s/${token}`)).text(),
      listening: await (await fetch(`${w.t.url}/s/${listenOnly}`)).text(),
      listen: (await w.producer.browser.get(`/tracks/${track.id}/listen`)).text,
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
