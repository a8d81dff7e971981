import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { CollabEnv, isFinal, makeTrack, startCollabEnv, waitForCollab } from '../integration/collaboration-support';
import { startTestApp, TestApp } from '../support/app';
import { eventually } from '../support/poll';
import { signedInUser } from '../support/users';

/** Bull Board at /admin/queues and Prometheus figures at /metrics: who may see them, and what they show. */
describe('admin: job queues and metrics', () => {
  let env: CollabEnv;

  beforeAll(async () => {
    env = await startCollabEnv();
  });
  afterAll(async () => {
    await env?.close();
  });

  describe('Bull Board', () => {
    it('sends anonymous visitors to sign in, and answers scripts 401', async () => {
      const page = await env.t.client().get('/admin/queues');
      expect(page.status).toBe(303);
      expect(page.headers.location).toBe('/login?next=%2Fadmin%2Fqueues');
      const api = await request(env.t.url).get('/admin/queues/api/queues').set('Accept', 'application/json');
      expect(api.status).toBe(401);
    });

    it('refuses producers with 403', async () => {
      const producer = env.producer;
      expect((await producer.browser.get('/admin/queues')).status).toBe(403);
      expect(
        (await producer.browser.agent.get('/admin/queues/api/queues').set('Accept', 'application/json')).status,
      ).toBe(403);
      const retry = await producer.browser.agent
        .put('/admin/queues/api/queues/collaboration/retry/failed')
        .set('Accept', 'application/json');
      expect(retry.status).toBe(403);
    });

    it('shows admins every queue, with the collaboration jobs', async () => {
      const track = await makeTrack(env.producer, { files: 1, collaborators: [{}] });
      await env.producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
      await waitForCollab(env.producer, track.id, isFinal);

      const admin = await signedInUser(env.t, 'admin');
      const page = await admin.browser.get('/admin/queues');
      expect(page.status).toBe(200);
      expect(page.text).toMatch(/<base href="\/admin\/queues\/"/);
      expect(page.headers['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
      const api = await admin.browser.agent.get('/admin/queues/api/queues').set('Accept', 'application/json');
      expect(api.status).toBe(200);
      const names = (api.body.queues as Array<{ name: string }>).map((q) => q.name).sort();
      expect(names).toEqual(expect.arrayContaining(['collaboration', 'files']));
      const collab = (api.body.queues as Array<{ name: string; counts: Record<string, number> }>).find(
        (q) => q.name === 'collaboration',
      )!;
      expect(collab.counts.completed).toBeGreaterThanOrEqual(3);

      // A mutation from another site is refused even with an admin's cookie.
      const crossSite = await admin.browser.agent
        .put('/admin/queues/api/queues/collaboration/retry/failed')
        .set('Origin', 'https://evil.example')
        .set('Accept', 'application/json');
      expect(crossSite.status).toBe(403);
    });
  });

  describe('/metrics', () => {
    it('serves queue, step and Dropbox figures in Prometheus text to this machine', async () => {
      const res = await request(env.t.url).get('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(res.text).toMatch(/^pd_queue_jobs\{queue="collaboration",state="completed"\} \d+$/m);
      expect(res.text).toMatch(/^pd_queue_jobs\{queue="files",state="waiting"\} \d+$/m);
      expect(res.text).toMatch(/^pd_dropbox_calls_total\{route="sharing\/share_folder",status="200"\} [1-9]\d*$/m);
      expect(res.text).toMatch(
        /^pd_job_step_duration_seconds_count\{queue="collaboration",step="files",outcome="completed"\} [1-9]\d*$/m,
      );
      expect(res.text).toMatch(/^# TYPE pd_dropbox_rate_limited_total counter$/m);
    });

    it('counts 429s by route', async () => {
      env.emulator.control.addFault({ route: 'files/get_metadata', status: 429, retryAfterSeconds: 1, times: 1 });
      await env.producer.dbx.filesGetMetadata({ path: '/' }).catch(() => undefined); // not through the gateway: not counted
      const track = await makeTrack(env.producer, { files: 1, collaborators: [{}] });
      env.emulator.control.addFault({
        route: 'sharing/list_folder_members',
        status: 429,
        retryAfterSeconds: 1,
        times: 1,
      });
      await env.producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
      await waitForCollab(env.producer, track.id, isFinal, 20_000);
      const res = await request(env.t.url).get('/metrics');
      expect(res.text).toMatch(/^pd_dropbox_rate_limited_total\{route="sharing\/list_folder_members"\} 1$/m);
      expect(res.text).toMatch(/^pd_dropbox_calls_total\{route="sharing\/list_folder_members",status="429"\} 1$/m);
    });

    it('refuses callers that come through a proxy when no token is set', async () => {
      const res = await request(env.t.url).get('/metrics').set('X-Forwarded-For', '203.0.113.9');
      expect(res.status).toBe(403);
      expect(res.text).toMatch(/METRICS_TOKEN/);
    });

    it('with METRICS_TOKEN, needs that bearer token; and sums the figures of every process of the installation', async () => {
      const token = randomBytes(24).toString('hex');
      const web: TestApp = await startTestApp({
        sharing: env.t,
        workers: false,
        env: { ...env.t.env, WORKERS: 'off', METRICS_TOKEN: token },
      });
      try {
        expect((await request(web.url).get('/metrics')).status).toBe(401);
        expect(
          (await request(web.url).get('/metrics').set('Authorization', 'Bearer wrong-token-wrong-token-wrong')).status,
        ).toBe(401);
        // The worker process (env.t) publishes every 5 s; this web process has made no Dropbox call itself, so the
        // figure appears once the worker's figures were published and summed.
        const calls = /^pd_dropbox_calls_total\{route="sharing\/share_folder",status="200"\} [1-9]\d*$/m;
        const ok = await eventually(
          () => request(web.url).get('/metrics').set('Authorization', `Bearer ${token}`),
          (res) => res.status !== 200 || calls.test(res.text),
          { what: "the worker's figures in the web's /metrics", everyMs: 250 },
        );
        expect(ok.status).toBe(200);
        expect(ok.text).toMatch(calls);
      } finally {
        await web.close();
      }
    });
  });
});
