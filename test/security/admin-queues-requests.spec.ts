import type { Browser } from 'playwright-core';
import { startTestApp, TestApp } from '../support/app';
import { DESKTOP, describeInChromium, launchChromium, signInThroughForm } from '../support/browser';
import { signedInUser, TestUser } from '../support/users';

/**
 * No page of the server makes a request to another host — the queue dashboard included, whose template links IBM
 * Plex from Google Fonts: a real Chromium page load, every request it makes counted by host.
 */
describeInChromium('security: the queue dashboard makes no third-party request', () => {
  let t: TestApp;
  let admin: TestUser;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestApp();
    admin = await signedInUser(t, 'admin');
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('loads /admin/queues with every request to this server', async () => {
    const context = await browser.newContext(DESKTOP);
    const page = await context.newPage();
    const requested: string[] = [];
    // Every request the page makes, whether or not it would be allowed; none is let out to the network.
    await context.route('**/*', (route) => {
      requested.push(route.request().url());
      return new URL(route.request().url()).origin === t.url ? route.continue() : route.abort();
    });
    await signInThroughForm(page, t.url, admin.email, admin.password);
    await page.goto(`${t.url}/admin/queues`, { waitUntil: 'networkidle' });
    // The board's app rendered (its queue list), so its scripts and styles did load.
    await page.getByText('Producer Dashboard').first().waitFor();
    expect(requested.filter((url) => url.includes('/admin/queues')).length).toBeGreaterThan(3);
    expect(requested.filter((url) => new URL(url).origin !== t.url)).toEqual([]);
    await context.close();
  });

  it('serves the page without links to other hosts (the Content-Security-Policy is the second line, not the only one)', async () => {
    const page = await admin.browser.get('/admin/queues');
    const html = page.text;
    expect(html).toContain('static/js/');
    // Nor does its Content-Security-Policy allow one.
    expect(String(page.headers['content-security-policy'])).not.toMatch(/https?:\/\//);
    expect(html.match(/(?:href|src)="(?:https?:)?\/\/[^"]+"/g)).toBeNull();
  });
});
