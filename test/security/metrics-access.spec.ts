import { randomBytes } from 'node:crypto';
import { freePort } from '../../tools/services';
import { startTestApp, TestApp } from '../support/app';

/**
 * A reverse proxy on the same host connects from loopback and, by default (nginx), adds no X-Forwarded-For: to the
 * server its requests look local. So in production "only this machine" is no rule: /metrics needs METRICS_TOKEN,
 * or is served on a loopback-only port of its own (METRICS_PORT).
 */
describe('security: /metrics in production', () => {
  const apps: TestApp[] = [];
  afterAll(async () => {
    for (const t of apps) await t.close();
  });
  const start = async (env: Record<string, string>) => {
    const t = await startTestApp({ env: { NODE_ENV: 'production', ...env } });
    apps.push(t);
    return t;
  };

  it('refuses a loopback caller without X-Forwarded-For (what a same-host proxy sends) when no METRICS_TOKEN is set', async () => {
    const t = await start({});
    const res = await fetch(`${t.url}/metrics`);
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/METRICS_TOKEN.*METRICS_PORT/);
  });

  it('serves the token holder only when METRICS_TOKEN is set', async () => {
    const token = randomBytes(24).toString('hex');
    const t = await start({ METRICS_TOKEN: token });
    expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
    expect(
      (await fetch(`${t.url}/metrics`, { headers: { Authorization: 'Bearer wrong-token-wrong-token-000' } })).status,
    ).toBe(401);
    const ok = await fetch(`${t.url}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('pd_queue_jobs');
  });

  it('serves them on METRICS_PORT, bound to 127.0.0.1 and serving nothing else, and not on the main port', async () => {
    const port = await freePort();
    const t = await start({ METRICS_PORT: String(port) });
    const main = await fetch(`${t.url}/metrics`);
    expect(main.status).toBe(403);
    expect(await main.text()).toContain(`127.0.0.1:${port}`);
    let own: Response | undefined;
    // The listener starts with the app; wait for it to answer rather than for a moment.
    for (let i = 0; i < 100 && !own; i++)
      own = await fetch(`http://127.0.0.1:${port}/metrics`).catch(
        async () => (await new Promise((r) => setTimeout(r, 50)), undefined),
      );
    expect(own?.status).toBe(200);
    expect(await own!.text()).toContain('pd_queue_jobs');
    expect((await fetch(`http://127.0.0.1:${port}/tracks`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status).toBe(404);
  });
});
