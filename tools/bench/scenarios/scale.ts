import { MikroORM, RequestContext, EntityManager } from '@mikro-orm/postgresql';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../../src/common/paths';
import { User } from '../../../src/modules/accounts/entities/user.entity';
import { Track } from '../../../src/modules/files/entities/track.entity';
import { SharesService } from '../../../src/modules/share/shares.service';
import { makeWav } from '../../fixtures/audio';
import { freePort, ManagedProcess, SentinelGroup, waitUntil } from '../../services';
import { benchTrackFiles } from '../share-fixtures';
import { startRoundRobinProxy } from '../round-robin-proxy';
import { BenchContext, round, say, Scenario, ScenarioResult } from '../harness';

const TRACKS = 10;
const CONNECTIONS = 50;
const AUTOCANNON = `${PROJECT_ROOT}/node_modules/autocannon/autocannon.js`;
const run = promisify(execFile);

async function cannon(url: string, seconds: number): Promise<{ rps: number; non2xx: number; errors: number }> {
  const { stdout } = await run(
    process.execPath,
    [AUTOCANNON, '-c', String(CONNECTIONS), '-d', String(seconds), '--json', url],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const r = JSON.parse(stdout) as { requests: { average: number }; non2xx: number; errors: number };
  return { rps: round(r.requests.average, 0), non2xx: r.non2xx, errors: r.errors };
}

/** A web process (dist/src/main.js) of the bench's installation, ready on a free loopback port. */
async function webProcess(env: Record<string, string>): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = new ManagedProcess(process.execPath, [join(PROJECT_ROOT, 'dist/src/main.js')], {
    name: `web process (port ${port})`,
    cwd: PROJECT_ROOT,
    // NODE_OPTIONS too: the web processes run with the V8 flags `npm run bench` gives (those of a deployment).
    env: {
      PATH: process.env.PATH ?? '',
      ...(process.env.NODE_OPTIONS ? { NODE_OPTIONS: process.env.NODE_OPTIONS } : {}),
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
    },
  });
  try {
    await waitUntil(
      `web process on port ${port}`,
      async () => {
        if (!proc.isRunning) throw new Error(proc.describeExit(await proc.exited));
        return fetch(`${url}/health/ready`).then(
          (r) => r.ok,
          () => false,
        );
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  } catch (err) {
    await proc.stop(5_000);
    throw err;
  }
  return { url, stop: async () => void (await proc.stop(10_000)) };
}

/**
 * Web replicas behind a proxy: the share page's requests/s through a round-robin proxy with one and with two web
 * processes (same database and Redis), and what a Redis Sentinel failover costs a web process under share-page
 * traffic (seconds /health/ready is not 200, requests that failed).
 */
export const scaleScenario: Scenario = {
  name: 'scale',
  description: `share page (${TRACKS} tracks) through a proxy with 1 and 2 web processes; a Redis Sentinel failover under traffic`,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const [producer, app, config, services] = await Promise.all([
      ctx.producer(),
      ctx.app(),
      ctx.config(),
      ctx.services(),
    ]);
    const seconds = ctx.options.quick ? 4 : 10;
    say(`scale: a share of ${TRACKS} tracks…`);
    const em = app.get(EntityManager).fork();
    const bounce = makeWav({ seconds: 1, sampleRate: 22_050, channels: 1, frequencies: [220] });
    const selection: Array<{ trackId: string; files: string[] }> = [];
    for (let i = 0; i < TRACKS; i += 1) {
      const track = em.create(Track, {
        owner: em.getReference(User, producer.userId),
        title: `Scale ${i + 1}`,
        artist: 'Bench Artist',
        sharingStatus: 'preview',
      });
      selection.push({
        trackId: track.id,
        files: await benchTrackFiles(em, producer.client, track, `/Bench/scale-${Date.now()}/Track ${i + 1}`, {
          bounce,
          stem: bounce,
          seconds: 1,
          projectBytes: 1024,
        }),
      });
    }
    const share = await RequestContext.create(app.get(MikroORM).em, () =>
      app.get(SharesService).create(producer.userId, {
        tracks: selection,
        title: 'Scale bench',
        message: 'One link, many visitors',
        expiry: 'never',
      }),
    );
    const env: Record<string, string> = {
      NODE_ENV: 'production',
      DATABASE_URL: services.databaseUrl,
      REDIS_URL: services.redisUrl,
      REDIS_PREFIX: services.redisPrefix,
      SESSION_SECRET: config.session.secret,
      ENCRYPTION_KEY: config.encryption.key.toString('base64'),
      LOG_LEVEL: 'silent',
      WORKERS: 'off',
      DATABASE_POOL_MAX: '5',
      TRUST_PROXY: '127.0.0.1',
      DROPBOX_API_URL: config.dropbox.apiUrl,
      DROPBOX_CONTENT_URL: config.dropbox.contentUrl,
    };

    const webs = [await webProcess(env), await webProcess(env)];
    ctx.onClose('scale web processes', async () => void (await Promise.all(webs.map((w) => w.stop()))));
    const results: Array<{ rps: number; non2xx: number; errors: number }> = [];
    for (const count of [1, 2]) {
      const proxy = await startRoundRobinProxy(webs.slice(0, count).map((w) => w.url));
      try {
        await cannon(`${proxy.url}${share.path}`, 2); // warm-up: caches filled, connections open
        say(`scale: ${count} web process${count > 1 ? 'es' : ''} behind the proxy, ${seconds} s of autocannon…`);
        results.push(await cannon(`${proxy.url}${share.path}`, seconds));
      } finally {
        await proxy.close();
      }
    }
    await Promise.all(webs.map((w) => w.stop()));
    webs.length = 0;

    say(
      'scale: a Redis Sentinel group (primary, replica, 3 sentinels) and a web process on it; failing over under traffic…',
    );
    const group = await SentinelGroup.start({
      dataDir: join(ctx.tmpDir, `sentinel-${randomBytes(3).toString('hex')}`),
    });
    ctx.onClose('sentinel group', () => group.stop());
    const web = await webProcess({
      ...env,
      REDIS_SENTINELS: group.sentinelList,
      REDIS_SENTINEL_NAME: group.name,
      REDIS_PREFIX: 'pdscale',
    });
    ctx.onClose('sentinel web process', () => web.stop());
    const proxy = await startRoundRobinProxy([web.url]);
    ctx.onClose('sentinel proxy', () => proxy.close());
    let running = true;
    const answers: number[] = [];
    const probes: Array<{ at: number; ok: boolean }> = [];
    const visitors = Array.from({ length: 4 }, async () => {
      while (running)
        answers.push(
          await fetch(`${proxy.url}${share.path}`).then(
            async (r) => (await r.arrayBuffer(), r.status),
            () => 0,
          ),
        );
    });
    const prober = (async () => {
      while (running) {
        probes.push({
          at: Date.now(),
          ok: await fetch(`${web.url}/health/ready`).then(
            (r) => r.ok,
            () => false,
          ),
        });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await new Promise((r) => setTimeout(r, 1_000));
    await group.failover();
    await waitUntil(
      'ready after the failover',
      async () => probes.slice(-3).length === 3 && probes.slice(-3).every((p) => p.ok),
      { timeoutMs: 60_000 },
    );
    running = false;
    await Promise.all([...visitors, prober]);
    const firstDown = probes.findIndex((p) => !p.ok);
    const backUp = firstDown < 0 ? -1 : probes.findIndex((p, i) => i > firstDown && p.ok);
    const notReadySeconds = firstDown < 0 ? 0 : round((probes[backUp].at - probes[firstDown].at) / 1000, 1);
    const failed = answers.filter((s) => s !== 200).length;

    const [one, two] = results;
    return {
      figures: [
        {
          key: 'scale.share_page_rps_1_web',
          label: 'share page through the proxy, 1 web process',
          value: one.rps,
          unit: 'req/s',
        },
        {
          key: 'scale.share_page_rps_2_web',
          label: 'share page through the proxy, 2 web processes',
          value: two.rps,
          unit: 'req/s',
        },
        {
          key: 'scale.two_web_ratio',
          label: '2 web processes / 1 (same machine: both share its cores with the proxy and autocannon)',
          value: round(two.rps / Math.max(1, one.rps), 2),
          unit: 'x',
          target: { op: '>=', value: 1 },
        },
        {
          key: 'scale.non2xx',
          label: 'answers other than 2xx in both runs',
          value: one.non2xx + two.non2xx + one.errors + two.errors,
          target: { op: '==', value: 0 },
        },
        {
          key: 'scale.failover_not_ready_s',
          label: 'Sentinel failover: seconds /health/ready was not 200',
          value: notReadySeconds,
          unit: 's',
          target: { op: '<', value: 10 },
        },
        {
          key: 'scale.failover_failed_requests',
          label: `Sentinel failover: share-page requests failed (of ${answers.length})`,
          value: failed,
          target: { op: '==', value: 0 },
        },
      ],
      details: { results, failoverRequests: answers.length, failoverStatuses: [...new Set(answers)] },
    };
  },
};
