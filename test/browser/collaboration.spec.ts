import type { Browser } from 'playwright-core';
import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { randomBytes } from 'node:crypto';
import {
  collabStatus,
  connectedProducer,
  filesIn,
  makeTrack,
  Producer,
  TestTrack,
} from '../integration/collaboration-support';
import { startTestApp, TestApp } from '../support/app';
import {
  collectPageProblems,
  describeInChromium,
  DESKTOP,
  launchChromium,
  signInThroughForm,
} from '../support/browser';
import { dropboxEnv, startTestEmulator } from '../support/dropbox';

// The callbacks below run in the page; the project compiles without the DOM library.
declare const window: any;
declare const document: any;
declare const performance: any;
declare const MutationObserver: any;

const FILES = 4;
/** Added to every Dropbox call while the pipeline runs: a few seconds in all, so the panel shows its steps. */
const LATENCY_MS = 350;

/** What the panel showed at one moment (recorded by a MutationObserver in the page). */
interface PanelSnapshot {
  status: string;
  steps: Array<[string, string]>;
  files: string | null;
  invites: string | null;
}

describeInChromium('share with collaborators in Chromium', () => {
  jest.setTimeout(60_000);
  let emulator: RunningDropboxEmulator;
  let t: TestApp;
  let browser: Browser;
  let producer: Producer;
  let track: TestTrack;

  beforeAll(async () => {
    // Strict: overlapping writes of one account would be refused with 429, which the spec would notice.
    emulator = await startTestEmulator({ strict: true });
    t = await startTestApp({ workers: true, env: { ...dropboxEnv(emulator), JOB_LOCK_SECONDS: '5' } });
    producer = await connectedProducer(t, emulator);
    // Stems in the track's Dropbox folder, imported into the library, and three collaborators with emails.
    track = await makeTrack(producer, {
      title: 'Night Drive',
      files: FILES,
      collaborators: [{ name: 'Ana' }, { name: 'Ben' }, { name: 'Cy' }],
    });
    const imported = await producer.api.post(`/api/v1/tracks/${track.id}/library/import`, {
      dropboxIds: track.files.map((f) => f.id),
    });
    if (imported.status >= 300) throw new Error(`import: ${imported.status} ${imported.text}`);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await emulator?.close();
  });

  it('starts the pipeline from the Share tab and the panel reaches Done without a reload, with its counts', async () => {
    const context = await browser.newContext(DESKTOP);
    const page = await context.newPage();
    const problems = collectPageProblems(page);
    await signInThroughForm(page, t.url, producer.email, producer.password);

    // The Share tab: pick the track's imported stems.
    await page.goto(`${t.url}/tracks/${track.id}/share`);
    const boxes = page.locator('input[type="checkbox"][name="files"]');
    expect(await boxes.count()).toBe(FILES);
    expect(
      await boxes.evaluateAll((inputs) => inputs.map((i) => (i as unknown as { value: string }).value.slice(0, 2))),
    ).toEqual(Array(FILES).fill('f:'));
    for (let i = 0; i < FILES; i += 1) await boxes.nth(i).check();
    // The track is private (every download off by default): stems would be left out of the folder.
    await page.locator('input[name="download_stem"]').check();

    // Dropbox gets slow from here on, so the steps take a few seconds.
    emulator.control.resetCounters();
    emulator.control.updateSettings({ latencyMs: LATENCY_MS });
    try {
      const button = page.getByRole('button', { name: 'Share Files with Collaborators' });
      expect(await button.getAttribute('formaction')).toBe(`/tracks/${track.id}/collaboration`);
      await Promise.all([page.waitForURL(`${t.url}/tracks/${track.id}/collaboration`), button.click()]);

      // Landed on the collaboration page while the pipeline runs (the server rendered it mid-way).
      const status = page.locator('[data-collab-status]');
      expect(await status.textContent()).toBe('Sharing…');
      expect(await page.locator('#collab-panel').getAttribute('data-live')).toBe('true');

      // From here the page must not navigate: a marker on window, the document's navigation entries and
      // Playwright's own count of main-frame navigations.
      let navigations = 0;
      page.on('framenavigated', (frame) => {
        if (frame === page.mainFrame()) navigations += 1;
      });
      await page.evaluate(() => {
        window.collabMarker = 'set before the pipeline finished';
        window.panelHistory = [];
        const snapshot = () => {
          const panel = document.querySelector('[data-collab-panel]');
          if (!panel) return;
          window.panelHistory.push({
            status: panel.querySelector('[data-collab-status]')?.textContent ?? '',
            steps: [...panel.querySelectorAll('[data-step]')].map((li: any) => [
              li.getAttribute('data-step'),
              li.getAttribute('data-state'),
            ]),
            files: panel.querySelector('[data-count="files"]')?.textContent ?? null,
            invites: panel.querySelector('[data-count="invites"]')?.textContent ?? null,
          });
        };
        snapshot();
        // The script swaps the whole panel element: watch its parent.
        new MutationObserver(snapshot).observe(document.body, {
          subtree: true,
          childList: true,
          characterData: true,
          attributes: true,
        });
      });
      const navigationEntries = await page.evaluate(() => performance.getEntriesByType('navigation').length);

      await page.waitForFunction(
        () => document.querySelector('[data-collab-status]')?.textContent === 'Done',
        undefined,
        { timeout: 25_000 },
      );

      // Same document: the marker survived, no navigation happened.
      expect(await page.evaluate(() => window.collabMarker)).toBe('set before the pipeline finished');
      expect(await page.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(navigationEntries);
      expect(navigations).toBe(0);

      // The finished panel: every step done, with the counts.
      const steps = await page
        .locator('.collab-steps [data-step]')
        .evaluateAll((items) => items.map((li) => [li.getAttribute('data-step'), li.getAttribute('data-state')]));
      expect(steps).toEqual([
        ['folder', 'done'],
        ['files', 'done'],
        ['invites', 'done'],
        ['done', 'done'],
      ]);
      expect(await page.locator('[data-count="files"]').textContent()).toBe(`files ${FILES}/${FILES}`);
      expect(await page.locator('[data-count="invites"]').textContent()).toBe('invites 3/3');
      expect(await page.locator('#collab-folder-path').textContent()).toMatch(
        /^\/Producer Dashboard\/Collaboration\/Night Drive \(/,
      );
      const members = await page
        .locator('tr[data-member]')
        .evaluateAll((rows) => rows.map((r) => [r.querySelector('td')?.textContent, r.getAttribute('data-state')]));
      expect(members).toEqual([
        ['Ana', 'invited'],
        ['Ben', 'invited'],
        ['Cy', 'invited'],
      ]);
      expect(await page.locator('[data-collab-reload]').count()).toBe(0); // the "updates by itself" hint went with the run

      // The panel moved forward in place: it showed the run unfinished, then Done, and never went back.
      const history: PanelSnapshot[] = await page.evaluate(() => window.panelHistory);
      const statuses = history.map((h) => h.status).filter((s, i, all) => i === 0 || all[i - 1] !== s);
      expect(statuses).toEqual(['Sharing…', 'Done']);
      expect(history.some((h) => h.steps.some(([, state]) => state === 'running'))).toBe(true);
      const doneSteps = history.map((h) => h.steps.filter(([, state]) => state === 'done').length);
      expect(doneSteps).toEqual([...doneSteps].sort((a, b) => a - b));

      // One pipeline's worth of Dropbox calls, writes one at a time.
      const counters = emulator.control.counters();
      expect(counters.callsByRoute['sharing/share_folder']).toBe(1);
      expect(counters.callsByRoute['files/copy_batch_v2']).toBe(1);
      expect(counters.callsByRoute['sharing/add_folder_member']).toBe(1);
      expect(counters.maxConcurrentWritesByAccount[producer.accountId]).toBe(1);
      expect(counters.rateLimited).toBe(0);
    } finally {
      emulator.control.updateSettings({ latencyMs: 0 });
    }

    // No script errors, CSP refusals, failed requests or 4xx/5xx answers on the way.
    expect(problems).toEqual([]);
    await context.close();
  });
  it('7 days and stems off on the Share tab: the collaborators’ folder has no stems and the panel shows the end date', async () => {
    const other = await makeTrack(producer, { title: 'Late Set', files: 2, collaborators: [{ name: 'Dee' }] });
    const { result: mix } = await producer.dbx.filesUpload({
      path: `${other.folderPath}/Bounces/Mix.wav`,
      contents: randomBytes(4096),
    });
    const imported = await producer.api.post(`/api/v1/tracks/${other.id}/library/import`, {
      dropboxIds: [mix.id, ...other.files.map((f) => f.id)],
    });
    if (imported.status >= 300) throw new Error(`import: ${imported.status} ${imported.text}`);

    const context = await browser.newContext(DESKTOP);
    const page = await context.newPage();
    const problems = collectPageProblems(page);
    await signInThroughForm(page, t.url, producer.email, producer.password);
    await page.goto(`${t.url}/tracks/${other.id}/share`);

    // Beside the button: folder members can always download, and the choice for categories whose downloads are off.
    expect(await page.locator('[data-collab-download-note]').textContent()).toMatch(
      /Dropbox folder members can always download/,
    );
    expect(await page.locator('input[name="disabledDownloads"][value="leave_out"]').isChecked()).toBe(true);

    const boxes = page.locator('input[type="checkbox"][name="files"]');
    for (let i = 0; i < (await boxes.count()); i += 1) await boxes.nth(i).check();
    await page.locator('input[name="download_bounce"]').check();
    expect(await page.locator('input[name="download_stem"]').isChecked()).toBe(false);
    await page.locator('input[name="expiry"][value="7d"]').check();
    await Promise.all([
      page.waitForURL(`${t.url}/tracks/${other.id}/collaboration`),
      page.getByRole('button', { name: 'Share Files with Collaborators' }).click(),
    ]);
    await page.waitForFunction(
      () => document.querySelector('[data-collab-status]')?.textContent === 'Done',
      undefined,
      { timeout: 25_000 },
    );

    const view = await collabStatus(producer, other.id);
    expect(view.expiry).toBe('7d');
    const endsOn = new Date(view.expiresAt!).toLocaleDateString('en-GB', {
      day: 'numeric',
      month: 'long',
      year: 'numeric',
      timeZone: 'UTC',
    });
    expect(new Date(view.expiresAt!).getTime() - Date.now()).toBeGreaterThan(7 * 24 * 3600_000 - 120_000);
    expect(await page.locator('[data-collab-access-label]').textContent()).toBe(`Access ends on ${endsOn}`);
    expect(await page.locator('[data-count="files"]').textContent()).toBe('files 1/1');
    const leftOut = await page.locator('[data-collab-left-out] li').allTextContents();
    expect(leftOut).toEqual([
      expect.stringMatching(/^stem-01\.wav was left out: downloads of stems are off/),
      expect.stringMatching(/^stem-02\.wav was left out/),
    ]);
    expect(await page.getByRole('button', { name: 'End access now' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Extend' }).count()).toBe(1);

    // In Dropbox: the bounce, no stems.
    expect(await filesIn(producer.dbx, view.folder!.path)).toEqual(['Bounces/Mix.wav']);
    expect(problems).toEqual([]);
    await context.close();
  });
});
