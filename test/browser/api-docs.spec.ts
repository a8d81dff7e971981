import type { Browser } from 'playwright-core';
import { startTestApp, TestApp } from '../support/app';
import { collectPageProblems, describeInChromium, DESKTOP, launchChromium } from '../support/browser';

describeInChromium('the API docs page in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  beforeAll(async () => {
    t = await startTestApp();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('renders fully styled under the Content-Security-Policy, asking only this server', async () => {
    const page = await (await browser.newContext(DESKTOP)).newPage();
    const problems = collectPageProblems(page);
    const requested: string[] = [];
    page.on('request', (req) => requested.push(req.url()));
    await page.goto(`${t.url}/api/docs/`);
    await page.waitForSelector('.opblock-tag');
    // Open an operation and its schema, where Swagger UI sets styles of its own.
    await page.click('.opblock-summary >> nth=0');
    await page.waitForSelector('.opblock-body');
    // Swagger UI's stylesheet applies: method badges are coloured, the page has its own background.
    const badge = await page.evaluate(() => {
      const g = globalThis as unknown as {
        document: { querySelector(s: string): unknown };
        getComputedStyle(el: unknown): { backgroundColor: string; color: string };
      };
      return g.getComputedStyle(g.document.querySelector('.opblock-summary-method')).backgroundColor;
    });
    expect(badge).not.toMatch(/^(rgba\(0, 0, 0, 0\)|transparent)$/);
    expect(problems).toEqual([]);
    expect(
      requested.filter((url) => !url.startsWith('data:') && new URL(url).origin !== new URL(t.url).origin),
    ).toEqual([]);
  });
});
