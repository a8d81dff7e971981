import AxeBuilder from '@axe-core/playwright';
import type { Browser } from 'playwright-core';
import { ShareStatsService } from '../../src/modules/share/share-stats.service';
import { makeWav } from '../../tools/fixtures/audio';
import {
  api,
  eventually,
  makeTrack,
  readyPreview,
  selectionOf,
  ShareWorld,
  startShareWorld,
  tokenOf,
} from '../integration/share-support';
import { launchChromium, signInThroughForm } from '../support/browser';
import { vnuErrors } from '../support/vnu';

type Media = { play(): Promise<void>; pause(): void; paused: boolean; currentTime: number; playbackRate: number };
/** What the page's scripts expose for tests (player.js and listen-beacons.js); runs in the page. */
type Win = {
  pdPlayer: { audio: Media; current: string | null };
  pdListens: { session: { heard: number; file: string } | null };
};
type RecipientStats = { views: number; plays: number; listenedSeconds: number };

describe('a recipient listening in Chromium', () => {
  let w: ShareWorld;
  let browser: Browser;
  let shareId: string;
  let fileId: string;

  beforeAll(async () => {
    w = await startShareWorld({ workers: true });
    const track = await makeTrack(
      w.producer,
      w.dbx,
      { title: 'Slow Burn', sharingStatus: 'private', artist: 'Cleo' },
      {
        'Bounces/Slow Burn.wav': makeWav({ seconds: 60, frequencies: [196, 247], channels: 1, sampleRate: 8_000 }),
      },
    );
    const sel = await selectionOf(w.producer, track.id);
    const created = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: Object.values(sel) }],
      downloads: { bounce: false, project: false, stem: false },
    });
    expect(created.status).toBe(201);
    shareId = created.body.id;
    fileId = Object.values(await selectionOf(w.producer, track.id))[0].slice(2);
    await readyPreview(w.t, fileId);
    browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
  });
  afterAll(async () => {
    await browser?.close();
    await w?.close();
  });

  async function recipientStats(id: string): Promise<RecipientStats> {
    await w.t.app.get(ShareStatsService).flush();
    const list = await api(w.producer).get(`/api/v1/shares/${shareId}/recipients`);
    return (list.body.items as Array<{ id: string; stats: RecipientStats }>).find((r) => r.id === id)!.stats;
  }

  it('40 s heard through their own link make one listen on their stats, shown on the share page', async () => {
    const label = await api(w.producer).post(`/api/v1/shares/${shareId}/recipients`, {
      name: 'Label A',
      email: 'a@label.test',
    });
    expect(label.status).toBe(201);
    const other = await api(w.producer).post(`/api/v1/shares/${shareId}/recipients`, { name: 'Label B' });
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(`${m.text()} ${m.location().url}`));
    expect((await page.goto(`${w.t.url}/s/${tokenOf(label.body.url)}`))?.status()).toBe(200);
    await expect(page.locator('.share-recipient').textContent()).resolves.toBe('Shared with Label A');

    await page.locator(`button[data-play="${fileId}"]`).click();
    await page.waitForFunction(() => (globalThis as unknown as Win).pdPlayer.audio.currentTime > 0.2, undefined, {
      timeout: 20_000,
    });
    // 40 s of the track without waiting 40 s: the player plays at 8× (what is heard is what played, not a seek).
    await page.evaluate(() => {
      (globalThis as unknown as Win).pdPlayer.audio.playbackRate = 8;
    });
    await page.waitForFunction(() => ((globalThis as unknown as Win).pdListens.session?.heard ?? 0) >= 40, undefined, {
      timeout: 30_000,
    });
    await page.evaluate(() => (globalThis as unknown as Win).pdPlayer.audio.pause());

    // The pause sent a beacon; the flush brings it to PostgreSQL: one listen for Label A, none for Label B.
    const stats = await eventually(
      () => recipientStats(label.body.id),
      (s) => s.plays >= 1,
      30_000,
    );
    expect(stats.plays).toBe(1);
    expect(stats.views).toBe(1);
    expect(stats.listenedSeconds).toBeGreaterThanOrEqual(40);
    expect(stats.listenedSeconds).toBeLessThanOrEqual(60);
    expect(await recipientStats(other.body.id)).toMatchObject({ views: 0, plays: 0, listenedSeconds: 0 });
    // Listening more of the same play is still the same listen.
    await page.evaluate(() => (globalThis as unknown as Win).pdPlayer.audio.play());
    await page.waitForFunction(() => ((globalThis as unknown as Win).pdListens.session?.heard ?? 0) >= 50, undefined, {
      timeout: 30_000,
    });
    await page.evaluate(() => (globalThis as unknown as Win).pdPlayer.audio.pause());
    await eventually(
      () => recipientStats(label.body.id),
      (s) => s.listenedSeconds >= 50,
      30_000,
    );
    expect((await recipientStats(label.body.id)).plays).toBe(1);

    // The producer's page of the share shows it: per recipient, and per file with the drop-off.
    const detail = (await w.producer.browser.get(`/shares/${shareId}`)).text;
    const row = /<tr data-recipient="[^"]+">[\s\S]*?<\/tr>/.exec(detail.slice(detail.indexOf('Label A') - 200))![0];
    expect(row).toContain('Label A');
    expect(row).toMatch(/data-stat="plays">1</);
    expect(detail).toMatch(/<th scope="row">Slow Burn\.wav[\s\S]*?data-stat="plays">1</);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('the producer adds recipients on the share page, copies a link; the page passes axe and the Nu HTML Checker', async () => {
    const context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
    const page = await context.newPage();
    await signInThroughForm(page, w.t.url, w.producer.email, w.producer.password);
    await page.goto(`${w.t.url}/shares/${shareId}`);
    await page.fill('#recipient-lines', 'Radio Plugger <plugger@radio.test>\nSync Agent');
    await Promise.all([
      page.waitForURL(/\/shares\/[^/]+#recipients$/),
      page.click('.recipients-form button[type="submit"]'),
    ]);
    await expect(page.locator('tr[data-recipient] th', { hasText: 'Radio Plugger' }).count()).resolves.toBe(1);
    await expect(page.locator('tr[data-recipient] th', { hasText: 'Sync Agent' }).count()).resolves.toBe(1);
    const row = page.locator('tr[data-recipient]', { hasText: 'Sync Agent' });
    const url = await row.locator('code').textContent();
    await row.locator('button[data-copy]').click();
    await expect(
      page.evaluate(() =>
        (
          globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
        ).navigator.clipboard.readText(),
      ),
    ).resolves.toBe(url);

    const axe = await new AxeBuilder({ page }).analyze();
    const serious = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
    const html = {
      detail: (await w.producer.browser.get(`/shares/${shareId}`)).text,
      recipientPage: await (await fetch(`${w.t.url}${new URL(url!).pathname}`)).text(),
    };
    expect(await vnuErrors(html)).toEqual({ detail: [], recipientPage: [] });
    await context.close();
  });
});
