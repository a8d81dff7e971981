import { existsSync } from 'node:fs';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';

/** Debian's Chromium (`.ci/run` installs it when absent); never a browser downloaded by a test tool. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Quiet, sandbox-free headless Chromium that makes no calls of its own to Google. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/** The reason a browser spec is skipped, or null when Chromium is there. */
export function chromiumSkipReason(): string | null {
  return chromiumAvailable()
    ? null
    : `${CHROMIUM_PATH} is missing: install Debian's chromium package (.ci/run does) to run the browser tests`;
}

/** `describe`, or `describe.skip` with the reason in its title and on stderr when Chromium is missing. */
export function describeInChromium(title: string, body: () => void): void {
  const reason = chromiumSkipReason();
  if (!reason) return describe(title, body);
  process.stderr.write(`\nbrowser tests skipped: ${reason}\n`);
  describe.skip(`${title} (skipped: ${reason})`, body);
}

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, ...extraArgs], headless: true });
}

export const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 900 } };
export const PHONE: BrowserContextOptions = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
};

/**
 * Everything a page reports as going wrong (script errors, console errors such as CSP refusals, failed
 * requests), so a spec can assert there was none.
 */
export function collectPageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.location().url.endsWith('/favicon.ico'))
      problems.push(`console: ${msg.text()} (${msg.location().url})`);
  });
  page.on('requestfailed', (req) =>
    problems.push(`request failed: ${req.method()} ${req.url()} (${req.failure()?.errorText})`),
  );
  page.on('response', (res) => {
    // Browsers ask for /favicon.ico on their own; the app has none.
    if (res.status() >= 400 && new URL(res.url()).pathname !== '/favicon.ico')
      problems.push(`HTTP ${res.status()}: ${res.request().method()} ${res.url()}`);
  });
  return problems;
}

/** Signs in through the real sign-in form. */
export async function signInThroughForm(page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([
    page.waitForURL((url) => !url.pathname.startsWith('/login')),
    page.click('form[action="/login"] button[type="submit"]'),
  ]);
}
