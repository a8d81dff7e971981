import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { emulatorDropboxClient } from '../../tools/dropbox-emulator';
import { makeWav } from '../../tools/fixtures/audio';
import {
  apiOf,
  isFinal,
  makeTrack as makeCollabTrack,
  Producer,
  waitForCollab,
} from '../integration/collaboration-support';
import { api, makeTrack, uploadFiles, eventually } from '../integration/share-support';
import { startTestApp, TestApp } from '../support/app';
import { describeInChromium, launchChromium, PHONE, signInThroughForm } from '../support/browser';
import { dropboxEnv, seedConnection, startTestEmulator } from '../support/dropbox';
import { signedInUser } from '../support/users';
import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';

/** Measured in the page (the spec compiles without DOM types). */
interface Fit {
  innerWidth: number;
  scrollWidth: number;
  outside: string[];
}

/**
 * A phone browser that meets a page wider than the screen widens its layout viewport to fit (innerWidth grows with
 * the page), so the screen's own width is the measure as well as innerWidth.
 */
const measure = (screenWidth: number) => {
  const doc = (globalThis as unknown as { document: any; innerWidth: number }).document;
  const innerWidth = Math.min(screenWidth, (globalThis as unknown as { innerWidth: number }).innerWidth);
  const outside: string[] = [];
  const selector = 'main button, main .button, main input[type="submit"], header nav a, header nav button';
  for (const el of Array.from(doc.querySelectorAll(selector)) as any[]) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue; // not shown (hidden, or only for another state)
    if (box.left < -0.5 || box.right > innerWidth + 0.5)
      outside.push(`${(el.textContent ?? '').trim().slice(0, 40)} [${Math.round(box.left)}–${Math.round(box.right)}]`);
  }
  return { innerWidth, scrollWidth: doc.documentElement.scrollWidth, outside };
};

describeInChromium('every dashboard page on a 390 px phone, and only this server asked', () => {
  let emulator: RunningDropboxEmulator;
  let t: TestApp;
  let admin: Producer;
  let browser: Browser;
  let page: Page;
  const requested: string[] = [];
  const pages: string[] = [];

  beforeAll(async () => {
    emulator = await startTestEmulator();
    t = await startTestApp({ env: dropboxEnv(emulator), workers: true });
    // An admin who is also a producer, so the menu is the longest there is.
    const user = await signedInUser(t, 'admin');
    const dropboxEmail = `phone-${randomBytes(4).toString('hex')}@dropbox.test`;
    await seedConnection(t, emulator, user, { email: dropboxEmail });
    const account = emulator.control.accounts().find((a) => a.email === dropboxEmail)!;
    const dbx = emulatorDropboxClient(emulator.url, emulator.control.issueToken({ email: dropboxEmail }).access_token);
    admin = { ...user, dropboxEmail, accountId: account.account_id, dbx, api: apiOf(user) };

    const long = await makeTrack(
      admin,
      dbx,
      {
        title: 'A Rather Long Track Title For A Small Phone Screen',
        sharingStatus: 'preview',
        artist: 'Somebody With A Long Name',
      },
      {
        'Bounces/Master take with a long file name 2026-12-01.wav': makeWav({
          seconds: 1,
          frequencies: [220],
          channels: 1,
          sampleRate: 22_050,
        }),
        'Stems/Drums.wav': makeWav({ seconds: 1, frequencies: [110], channels: 1, sampleRate: 22_050 }),
        'Projects/Session.als': Buffer.from('ableton '.repeat(50)),
      },
    );
    const second = await makeTrack(admin, dbx, { title: 'Second', sharingStatus: 'collaborative' });
    const lib = (await api(admin).get(`/api/v1/tracks/${long.id}/library`)).body.items as Array<{ dropboxId: string }>;
    await api(admin).post(`/api/v1/tracks/${long.id}/library/import`, { dropboxIds: lib.map((i) => i.dropboxId) });
    const files = (await api(admin).get(`/api/v1/tracks/${long.id}/library`)).body.items as Array<{
      id: string;
      name: string;
    }>;
    const share = (
      await api(admin).post('/api/v1/shares', {
        tracks: [{ trackId: long.id, files: files.map((f) => `f:${f.id}`) }],
        title: 'For the label, with a long title',
      })
    ).body;
    const disabled = (
      await api(admin).post('/api/v1/shares', {
        tracks: [{ trackId: long.id, files: [`f:${files[0].id}`] }],
        expiry: '7d',
      })
    ).body;
    await api(admin).post(`/api/v1/shares/${disabled.id}/revoke`);
    // A new version, so the Versions page has two rows.
    await uploadFiles(
      admin,
      long.id,
      { category: 'bounce', conflict: 'replace' },
      {
        [files.find((f) => f.name.startsWith('Master'))!.name]: makeWav({
          seconds: 1,
          frequencies: [330],
          channels: 1,
          sampleRate: 22_050,
        }),
      },
    );
    await eventually(
      async () => (await api(admin).get(`/api/v1/tracks/${long.id}/uploads`)).body as Array<{ status: string }>,
      (l) => l.every((u) => u.status === 'done'),
    );

    // A failed collaboration: Retry, Share with remaining, Refresh and Reset side by side.
    const collab = await makeCollabTrack(admin, {
      files: 1,
      collaborators: [{ name: 'Someone With A Very Long Name Indeed' }],
    });
    emulator.control.addFault({ route: 'sharing/add_folder_member', times: 1, errorTag: 'insufficient_plan' });
    await admin.api.post(`/api/v1/tracks/${collab.id}/collaboration`, { files: collab.selection });
    expect((await waitForCollab(admin, collab.id, isFinal)).status).toBe('failed');
    const collaborator = collab.collaborators[0];
    const master = files.find((f) => f.name.startsWith('Master'))!;

    pages.push(
      '/tracks',
      '/tracks?select=all',
      `/tracks/${long.id}`,
      `/tracks/${long.id}/share`,
      `/tracks/${long.id}/files/${master.id}/revisions`,
      `/tracks/${collab.id}/collaboration`,
      '/collaborators',
      `/collaborators/${collaborator.id}/edit`,
      '/shares',
      `/shares/new?tracks=${long.id}&tracks=${second.id}`,
      `/shares/${share.id}`,
      `/shares/${share.id}/contents`,
      `/shares/${share.id}/revoke`,
      `/shares/${disabled.id}`,
      '/settings',
      '/admin/users',
    );

    browser = await launchChromium();
    const context = await browser.newContext(PHONE);
    page = await context.newPage();
    page.on('request', (req) => requested.push(req.url()));
    await signInThroughForm(page, t.url, admin.email, admin.password);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await emulator?.close();
  });

  it('has no horizontal overflow and keeps every button and menu link inside the screen', async () => {
    const misfits: Record<string, Fit> = {};
    for (const path of pages) {
      const res = await page.goto(`${t.url}${path}`);
      expect({ path, ok: (res?.status() ?? 500) < 400 }).toEqual({ path, ok: true });
      const fit = (await page.evaluate(measure, PHONE.viewport!.width)) as Fit;
      if (fit.scrollWidth > fit.innerWidth || fit.outside.length) misfits[path] = fit;
    }
    expect(misfits).toEqual({});
  });

  it('the shares list keeps its column labels on a phone', async () => {
    await page.goto(`${t.url}/shares`);
    const labels = await page.evaluate(() => {
      const g = globalThis as unknown as {
        document: any;
        getComputedStyle(el: unknown, pseudo: string): { content: string };
      };
      return (Array.from(g.document.querySelectorAll('.share-table tbody tr:first-child td')) as unknown[]).map(
        (td) => g.getComputedStyle(td, '::before').content,
      );
    });
    for (const label of ['Downloads', 'Expires', 'Status', 'Views', 'Listens', 'Last access'])
      expect(labels).toContain(`"${label}: "`);
  });

  it('the admin menu links to the queue dashboard', async () => {
    await page.goto(`${t.url}/tracks`);
    expect(await page.getAttribute('header nav a:has-text("Queues")', 'href')).toBe('/admin/queues');
    await page.goto(`${t.url}/admin/users`);
    expect(await page.getAttribute('main a:has-text("Job queues")', 'href')).toBe('/admin/queues');
  });

  it('asked nothing of any other server on any of these pages', () => {
    const origin = new URL(t.url).origin;
    const elsewhere = requested.filter((url) => !url.startsWith('data:') && new URL(url).origin !== origin);
    expect(requested.length).toBeGreaterThan(pages.length);
    expect(elsewhere).toEqual([]);
  });
});
