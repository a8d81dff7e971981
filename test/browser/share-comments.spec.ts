import AxeBuilder from '@axe-core/playwright';
import { EntityManager } from '@mikro-orm/postgresql';
import type { Browser } from 'playwright-core';
import { TrackFile } from '../../src/modules/files/entities/track-file.entity';
import { MediaPreview } from '../../src/modules/media/entities/media-preview.entity';
import { makeWav } from '../../tools/fixtures/audio';
import { eventually } from '../faults/support';
import { api, makeTrack, selectionOf, ShareWorld, startShareWorld, tokenOf } from '../integration/share-support';
import { collectPageProblems, describeInChromium, launchChromium } from '../support/browser';

/** The page's player (public/js/player.js) and document, as seen from the spec (which has no DOM types). */
type Win = {
  pdPlayer: {
    play(file: string): void;
    audio: { readyState: number; paused: boolean; currentTime: number; pause(): void };
  };
};
type Doc = { document: { querySelectorAll(selector: string): { length: number } } };

/** Comments at a time in Chromium: one posted without JavaScript, one with it, both drawn on the waveform. */
describeInChromium('comments on the playlist page in Chromium', () => {
  let w: ShareWorld;
  let browser: Browser;
  let token: string;
  let shareId: string;
  let fileId: string;

  beforeAll(async () => {
    w = await startShareWorld({ workers: true });
    const track = await makeTrack(
      w.producer,
      w.dbx,
      { title: 'Harbour Lights', sharingStatus: 'preview' },
      {
        'Bounces/Harbour Lights.wav': makeWav({ seconds: 4, frequencies: [261.6, 329.6] }),
      },
    );
    const sel = await selectionOf(w.producer, track.id);
    const res = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: Object.values(sel) }],
      comments: true,
    });
    expect(res.status).toBe(201);
    token = tokenOf(res.body.url);
    shareId = res.body.id;
    fileId = (await selectionOf(w.producer, track.id))['Harbour Lights.wav'].slice(2);
    await eventually(
      'preview built',
      () => w.t.app.get(EntityManager).fork().count(MediaPreview, { file: fileId, status: 'ready' }),
      (n) => n === 1,
      { timeoutMs: 60_000 },
    );
    // Markers are placed by the file's duration, which the page knows once the audio was analysed.
    await eventually(
      'duration analysed',
      async () => (await w.t.app.get(EntityManager).fork().findOneOrFail(TrackFile, { id: fileId })).durationSeconds,
      (d) => typeof d === 'number' && d > 0,
      { timeoutMs: 60_000 },
    );
    browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
  });
  afterAll(async () => {
    await browser?.close();
    await w?.close();
  });

  const markers = `.comment-markers[data-markers-for="${'$FILE'}"] .comment-marker`;

  it("posts without JavaScript, then with it at the player's time; both are markers on the waveform after a reload", async () => {
    const selector = markers.replace('$FILE', fileId);
    // Without JavaScript: the plain form, a redirect to the visitor's comments.
    const plain = await browser.newContext({ javaScriptEnabled: false });
    const noJs = await plain.newPage();
    expect((await noJs.goto(`${w.t.url}/s/${token}`))?.status()).toBe(200);
    await expect(noJs.locator('svg.wave').count()).resolves.toBe(1);
    await noJs.fill('#comment-at', '1');
    await noJs.fill('#comment-name', 'Ana');
    await noJs.fill('#comment-body', 'Kick <louder> here');
    await Promise.all([
      noJs.waitForURL(/\/comments\?posted=1/),
      noJs.click('[data-comment-form] button[type="submit"]'),
    ]);
    await expect(noJs.locator('.comment-body').first().textContent()).resolves.toBe('Kick <louder> here');
    const state = await plain.storageState();
    await plain.close();

    // The same visitor with JavaScript: their first comment is already a marker; the form takes the player's time.
    const context = await browser.newContext({ storageState: state });
    const page = await context.newPage();
    const problems = collectPageProblems(page);
    expect((await page.goto(`${w.t.url}/s/${token}`))?.status()).toBe(200);
    await page.waitForSelector(selector);
    await expect(page.locator(selector).count()).resolves.toBe(1);
    await page.evaluate((file) => (globalThis as unknown as Win).pdPlayer.play(file), fileId);
    await page.waitForFunction(
      () =>
        (globalThis as unknown as Win).pdPlayer.audio.readyState >= 1 &&
        !(globalThis as unknown as Win).pdPlayer.audio.paused,
    );
    await page.evaluate(() => {
      const { audio } = (globalThis as unknown as Win).pdPlayer;
      audio.pause();
      audio.currentTime = 2.5;
    });
    await page.waitForFunction(() => Math.abs((globalThis as unknown as Win).pdPlayer.audio.currentTime - 2.5) < 0.2);
    await page.fill('#comment-name', 'Ana');
    await page.fill('#comment-body', 'Vocal up a little');
    await expect(page.inputValue('#comment-at')).resolves.toMatch(/^2\.[4-6]$/);
    await page.click('[data-comment-form] button[type="submit"]');
    await page.waitForFunction(
      (sel) => (globalThis as unknown as Doc).document.querySelectorAll(sel).length === 2,
      selector,
    );
    await expect(page.locator('[data-comment-status]').textContent()).resolves.toMatch(/Posted/);
    // The script posted without leaving the page.
    expect(page.url()).toBe(`${w.t.url}/s/${token}`);

    // After a reload both are drawn, where they were made (a quarter and about five eighths of 4 s).
    await page.reload();
    await page.waitForFunction(
      (sel) => (globalThis as unknown as Doc).document.querySelectorAll(sel).length === 2,
      selector,
    );
    const lefts = await page
      .locator(selector)
      .evaluateAll((els) =>
        els.map((el) => Number.parseFloat((el as unknown as { style: { left: string } }).style.left)),
      );
    expect(lefts.sort((a, b) => a - b).map((l) => Math.round(l))).toEqual([25, expect.any(Number)]);
    expect(lefts[1]).toBeGreaterThan(55);
    expect(lefts[1]).toBeLessThan(70);
    // Their text is shown as text.
    await expect(page.locator('[data-comment-list] .comment-body').allTextContents()).resolves.toEqual([
      'Kick <louder> here',
      'Vocal up a little',
    ]);
    // The form and the markers are usable by everyone: no serious accessibility finding, and nothing from elsewhere.
    const axe = await new AxeBuilder({ page }).include('#comments').include('.comment-markers').analyze();
    const serious = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();

    // The producer has both, at the times given.
    const listed = await api(w.producer).get(`/api/v1/shares/${shareId}/comments`);
    const items = listed.body.items as Array<{ at: number; body: string }>;
    expect(items.map((c) => c.body)).toEqual(['Kick <louder> here', 'Vocal up a little']);
    expect(items[0].at).toBe(1);
    expect(Math.abs(items[1].at - 2.5)).toBeLessThanOrEqual(0.2);
  });
});
