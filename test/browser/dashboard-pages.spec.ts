import AxeBuilder from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { api, makeTrack, selectionOf, ShareWorld, startShareWorld } from '../integration/share-support';
import {
  collectPageProblems,
  describeInChromium,
  DESKTOP,
  launchChromium,
  signInThroughForm,
} from '../support/browser';
import { signedInUser, TestUser } from '../support/users';
import { vnuErrors } from '../support/vnu';

/**
 * The dashboard's own pages meet the bar the share pages do: no serious or critical axe-core finding, no Nu HTML
 * Checker error, nothing failing in the page — including forms sent back with their field errors.
 */
describeInChromium('dashboard pages in Chromium: accessible and valid HTML', () => {
  let w: ShareWorld;
  let admin: TestUser;
  let browser: Browser;
  const paths: Record<string, string> = {};

  beforeAll(async () => {
    w = await startShareWorld();
    admin = await signedInUser(w.t, 'admin');
    const track = await makeTrack(w.producer, w.dbx, { title: 'Night Drive', artist: 'Cleo' });
    const sel = await selectionOf(w.producer, track.id);
    const share = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: Object.values(sel) }],
      comments: true,
    });
    expect(share.status).toBe(201);
    expect(
      (
        await api(w.producer).post(`/api/v1/shares/${share.body.id}/recipients`, {
          name: 'Label A',
          email: 'a@label.test',
        })
      ).status,
    ).toBe(201);
    const collaborator = await api(w.producer).post('/api/v1/collaborators', {
      name: 'Mara',
      email: 'mara@studio.test',
      role: 'mixer',
    });
    expect(collaborator.status).toBe(201);
    // Creating the share imported the files: now they have ids of ours.
    const fileId = Object.values(await selectionOf(w.producer, track.id))[0].slice(2);
    Object.assign(paths, {
      tracks: '/tracks',
      track: `/tracks/${track.id}`,
      listen: `/tracks/${track.id}/listen`,
      'share-tab': `/tracks/${track.id}/share`,
      collaboration: `/tracks/${track.id}/collaboration`,
      revisions: `/tracks/${track.id}/files/${fileId}/revisions`,
      'share-new': `/shares/new?tracks=${track.id}`,
      shares: '/shares',
      'share-detail': `/shares/${share.body.id}`,
      collaborators: '/collaborators',
      'collaborator-edit': `/collaborators/${collaborator.body.id}/edit`,
      settings: '/settings',
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await w?.close();
  });

  async function check(page: Page, name: string, path: string, pages: Record<string, string>) {
    const problems = collectPageProblems(page);
    const res = await page.goto(`${w.t.url}${path}`);
    expect([name, res?.status()]).toEqual([name, 200]);
    const axe = await new AxeBuilder({ page }).analyze();
    const serious = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect([name, serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)]).toEqual([
      name,
      [],
    ]);
    expect([name, problems]).toEqual([name, []]);
    pages[name] = await page.content();
  }

  // Fifteen pages, each analysed by axe-core, then one JVM for the HTML checker: ~25 s on an idle 2-core machine,
  // close to a minute when the machine is busy, so it gets more than the suite's default.
  it("a producer's pages", async () => {
    const context = await browser.newContext(DESKTOP);
    const page = await context.newPage();
    await signInThroughForm(page, w.t.url, w.producer.email, w.producer.password);
    const pages: Record<string, string> = {};
    for (const [name, path] of Object.entries(paths)) await check(page, name, path, pages);
    // Every tab of a track shows the track's sections, with the page it is on marked.
    for (const [name, tab] of [
      ['track', 'Files &amp; details'],
      ['listen', 'Listen'],
      ['share-tab', 'Share'],
      ['collaboration', 'Collaboration'],
    ]) {
      expect([
        name,
        /<nav class="tabs"[\s\S]*?<\/nav>/.exec(pages[name])?.[0].match(/aria-current="page">([^<]+)</)?.[1],
      ]).toEqual([name, tab]);
    }
    // Forms sent back with their errors: each error is tied to its field.
    const badShare = await w.producer.browser.submit(paths['share-detail'], paths['share-detail'], {
      title: 'x'.repeat(300),
      expiry: 'forever',
    });
    expect(badShare.status).toBe(400);
    expect(badShare.text).toMatch(/aria-describedby="share-(title|expiry)-error"/);
    pages['share-detail-errors'] = badShare.text;
    expect(await vnuErrors(pages)).toEqual(Object.fromEntries(Object.keys(pages).map((name) => [name, []])));
    await context.close();
  }, 180_000);

  it("an admin's pages", async () => {
    const context = await browser.newContext(DESKTOP);
    const page = await context.newPage();
    await signInThroughForm(page, w.t.url, admin.email, admin.password);
    const pages: Record<string, string> = {};
    for (const [name, path] of Object.entries({ users: '/admin/users', 'all-shares': '/admin/shares' }))
      await check(page, name, path, pages);
    expect(await vnuErrors(pages)).toEqual(Object.fromEntries(Object.keys(pages).map((name) => [name, []])));
    await context.close();
  });
});
