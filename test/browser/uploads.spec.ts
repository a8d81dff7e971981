import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { makeWav } from '../../tools/fixtures/audio';
import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { startTestApp, TestApp } from '../support/app';
import {
  collectPageProblems,
  describeInChromium,
  DESKTOP,
  launchChromium,
  signInThroughForm,
} from '../support/browser';
import { dropboxEnv, seedConnection, startTestEmulator } from '../support/dropbox';
import { makeTempDir } from '../support/leftovers';
import { signedInUser, TestUser } from '../support/users';

// The callbacks below run in the page; the project compiles without the DOM library.
declare const window: any;
declare const document: any;
declare const MutationObserver: any;

interface BarState {
  name: string;
  value: number;
  text: string;
  failed: boolean;
}

describeInChromium('uploads in Chromium', () => {
  jest.setTimeout(120_000);
  let emulator: RunningDropboxEmulator;
  let t: TestApp;
  let browser: Browser;
  let producer: TestUser;
  let tmp: string;

  beforeAll(async () => {
    tmp = makeTempDir('test');
    await mkdir(join(tmp, 'spool'));
    emulator = await startTestEmulator();
    t = await startTestApp({ workers: true, env: { ...dropboxEnv(emulator), SPOOL_DIR: join(tmp, 'spool') } });
    producer = await signedInUser(t);
    await seedConnection(t, emulator, producer, { email: 'browser@dropbox.test' });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await emulator?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  /** Every bar's value after each change, as the page showed it (a MutationObserver in the page). */
  async function watchBars(page: Page): Promise<() => Promise<BarState[][]>> {
    await page.evaluate(() => {
      const w = window as unknown as { barHistory: unknown[] };
      w.barHistory = [];
      const list = document.getElementById('upload-progress')!;
      const snapshot = () =>
        w.barHistory.push(
          [...list.querySelectorAll('li')].map((li: any) => ({
            name: li.querySelector('.upload-name')?.textContent ?? '',
            value: li.querySelector('progress').value,
            text: li.querySelector('.upload-status')?.textContent ?? '',
            failed: li.classList.contains('upload-failed'),
          })),
        );
      new MutationObserver(snapshot).observe(list, {
        subtree: true,
        childList: true,
        characterData: true,
        attributes: true,
      });
    });
    return () => page.evaluate(() => (window as unknown as { barHistory: BarState[][] }).barHistory);
  }

  it('uploads two files: both bars reach 100% and the files are listed with their durations', async () => {
    const lead = join(tmp, 'Lead Vox.wav');
    const bass = join(tmp, 'Bass Line.wav');
    await writeFile(lead, makeWav({ seconds: 2, frequencies: [440, 660], sampleRate: 48_000, bitsPerSample: 24 }));
    await writeFile(bass, makeWav({ seconds: 3, frequencies: [55], channels: 1 }));

    const context = await browser.newContext(DESKTOP);
    const page = await context.newPage();
    const problems = collectPageProblems(page);
    await signInThroughForm(page, t.url, producer.email, producer.password);
    expect(new URL(page.url()).pathname).toBe('/tracks');

    // A new track through its form; the browser lands on the track's page.
    await page.fill('#new-title', 'Browser Song');
    await page.fill('#new-artist', 'Chromium');
    await Promise.all([page.waitForURL(/\/tracks\/[0-9a-f-]{36}$/), page.click('#new-track button[type="submit"]')]);
    await page.waitForSelector('h1:has-text("Browser Song")');
    const history = await watchBars(page);

    await page.setInputFiles('#upload-files', [lead, bass]);
    await page.click('#upload-form button[type="submit"]');

    // Both bars reach 100%, with the words saying so.
    await page.waitForFunction(
      () => {
        const items: any[] = [...document.querySelectorAll('#upload-progress li')];
        return items.length === 2 && items.every((li) => li.querySelector('progress').value === 100);
      },
      undefined,
      { timeout: 60_000 },
    );
    const finalBars = await page.$$eval('#upload-progress li', (items) =>
      items.map((li) => ({
        name: li.querySelector('.upload-name')?.textContent,
        value: (li.querySelector('progress') as unknown as { value: number }).value,
        text: li.querySelector('.upload-status')?.textContent,
      })),
    );
    expect(finalBars).toEqual([
      { name: 'Lead Vox.wav', value: 100, text: '100% · stored in your Dropbox' },
      { name: 'Bass Line.wav', value: 100, text: '100% · stored in your Dropbox' },
    ]);

    // The bars only went forward, passed through the server and the Dropbox steps, and nothing failed.
    const seen = await history();
    for (const name of ['Lead Vox.wav', 'Bass Line.wav']) {
      const states = seen
        .map((snapshot) => snapshot.find((s) => s.name === name))
        .filter((s): s is BarState => Boolean(s));
      const values = states.map((s) => s.value);
      expect(values).toEqual([...values].sort((a, b) => a - b));
      expect(states.some((s) => /sending to the server|received/.test(s.text))).toBe(true);
      expect(states.some((s) => s.failed)).toBe(false);
      expect(values.at(-1)).toBe(100);
    }

    // The library section refreshes by itself: both files are there, as bounces, with their durations.
    const durationOf = (name: string) => page.locator('#library tr', { hasText: name }).locator('.duration');
    await durationOf('Lead Vox.wav').waitFor({ timeout: 30_000 });
    await durationOf('Bass Line.wav').waitFor({ timeout: 30_000 });
    expect(await durationOf('Lead Vox.wav').textContent()).toBe('0:02');
    expect(await durationOf('Bass Line.wav').textContent()).toBe('0:03');
    const leadRow = (await page.locator('#group-bounce tr', { hasText: 'Lead Vox.wav' }).textContent()) ?? '';
    expect(leadRow).toContain('48 kHz · 24-bit · stereo');
    expect((await page.locator('#group-bounce tr', { hasText: 'Bass Line.wav' }).textContent()) ?? '').toContain(
      'mono',
    );
    expect(await page.locator('#library-title + p').textContent()).toBe('2 files');

    // After a reload (no script state), the server lists them the same way.
    await page.reload();
    expect(await durationOf('Lead Vox.wav').textContent()).toBe('0:02');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('uploads without JavaScript through the plain form, and the library lists the file after a reload', async () => {
    const hook = join(tmp, 'Hook.wav');
    await writeFile(hook, makeWav({ seconds: 1, frequencies: [550] }));
    const context = await browser.newContext({ ...DESKTOP, javaScriptEnabled: false });
    const page = await context.newPage();
    await signInThroughForm(page, t.url, producer.email, producer.password);
    await page.click('a.track-link:has-text("Browser Song")');
    await page.selectOption('#upload-category', 'stem');
    await page.setInputFiles('#upload-files', [hook]);
    await Promise.all([page.waitForURL(/#uploads$/), page.click('#upload-form button[type="submit"]')]);
    expect(await page.locator('.flash').textContent()).toMatch(/^Received 1 file: now storing it in your Dropbox/);
    const duration = page.locator('#group-stem tr', { hasText: 'Hook.wav' }).locator('.duration');
    for (let attempt = 0; attempt < 50 && !(await duration.count()); attempt += 1) {
      await page.waitForTimeout(200);
      await page.reload();
    }
    expect(await duration.textContent()).toBe('0:01');
    await context.close();
  });

  it('says in words why a file was refused, per file', async () => {
    const empty = join(tmp, 'Empty.wav');
    const fine = join(tmp, 'Fine.wav');
    await writeFile(empty, Buffer.alloc(0));
    await writeFile(fine, makeWav({ seconds: 1, frequencies: [330] }));
    const context = await browser.newContext(DESKTOP);
    const page = await context.newPage();
    await signInThroughForm(page, t.url, producer.email, producer.password);
    await page.click('a.track-link:has-text("Browser Song")');
    await page.setInputFiles('#upload-files', [empty, fine]);
    await page.click('#upload-form button[type="submit"]');
    const status = (name: string) => page.locator('#upload-progress li', { hasText: name }).locator('.upload-status');
    await page.waitForFunction(
      () =>
        document.querySelectorAll('#upload-progress li.upload-failed, #upload-progress li.upload-done').length === 2,
      undefined,
      {
        timeout: 60_000,
      },
    );
    expect(await status('Empty.wav').textContent()).toBe('Not uploaded: Empty.wav is empty');
    expect(await status('Fine.wav').textContent()).toBe('100% · stored in your Dropbox');
    await context.close();
  });
});
