import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { ConfigError, loadConfig } from '../../src/config/app-config';
import { AccountsService } from '../../src/modules/accounts/accounts.service';
import { ShareTuning } from '../../src/modules/share/share-tuning';
import { startTestApp, TestApp } from '../support/app';
import { api, makeTrack, selectionOf, ShareWorld, startShareWorld, tokenOf } from '../integration/share-support';

const base = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/pd',
  SESSION_SECRET: 'x'.repeat(40),
  ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
};

function problems(trustProxy: string): string {
  try {
    loadConfig({ ...base, TRUST_PROXY: trustProxy });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n');
    throw err;
  }
  return '';
}

/**
 * Rate limits count per client address, so who may say what the client address is matters: only the proxies
 * TRUST_PROXY names. Someone reaching the port directly with a forged X-Forwarded-For is still counted as
 * themselves, and a share's password attempts are also limited per share, whatever the addresses.
 */
describe('security: TRUST_PROXY and forged client addresses', () => {
  it('refuses "everyone" (true, hop counts, 0.0.0.0/0) with a message that says what to write', () => {
    for (const everyone of ['true', 'TRUE', 'yes', '1', '2', '*']) {
      expect({ everyone, problem: problems(everyone) }).toEqual({
        everyone,
        problem: expect.stringMatching(
          /^TRUST_PROXY must list .*trusts whoever connects.*e\.g\. TRUST_PROXY=127\.0\.0\.1/,
        ),
      });
    }
    for (const everyone of ['0.0.0.0/0', '::/0', '10.0.0.1,0.0.0.0/0']) {
      expect({ everyone, problem: problems(everyone) }).toEqual({
        everyone,
        problem: expect.stringMatching(/^TRUST_PROXY: ".*" covers every address/),
      });
    }
    for (const nonsense of ['proxy.example', '10.0.0.0/33', '300.1.1.1', '10.0.0.1/8/1']) {
      expect({ nonsense, problem: problems(nonsense) }).toEqual({
        nonsense,
        problem: expect.stringContaining(`TRUST_PROXY: "${nonsense.split(',').pop()}" is not`),
      });
    }
  });

  it('takes addresses, networks and Express names as a trust-proxy list', () => {
    expect(loadConfig({ ...base, TRUST_PROXY: '172.30.77.1, 10.0.0.0/8,loopback,fd00::/8' }).http.trustProxy).toEqual([
      '172.30.77.1',
      '10.0.0.0/8',
      'loopback',
      'fd00::/8',
    ]);
    expect(loadConfig({ ...base, TRUST_PROXY: 'false' }).http.trustProxy).toBe(false);
    expect(loadConfig(base).http.trustProxy).toBe(false);
  });

  it('publishes only the HTTPS proxy to the outside (web, database and Redis publish nothing beyond loopback), and caps Redis’s memory', () => {
    const compose = parse(readFileSync(join(resolve(__dirname, '..', '..'), 'docker-compose.yml'), 'utf8'), {
      merge: true,
    }) as {
      services: Record<string, { ports?: string[]; command?: string[] }>;
    };
    // Caddy terminates HTTPS for PUBLIC_URL's host, so it alone listens on the host's public 80/443; everything
    // else is reached through it (web) or only inside the compose network.
    expect(compose.services.proxy.ports).toEqual(['80:80', '443:443', '443:443/udp']);
    for (const [name, service] of Object.entries(compose.services)) {
      if (name === 'proxy') continue;
      for (const port of service.ports ?? [])
        expect({ name, port }).toEqual({ name, port: expect.stringMatching(/^127\.0\.0\.1:/) });
    }
    expect(compose.services.redis.command?.join(' ')).toMatch(/--maxmemory \S+ --maxmemory-policy noeviction/);
  });

  describe('sign-in behind a proxy that is not the caller', () => {
    let t: TestApp;
    beforeAll(async () => {
      // The proxy is some other host: this test client connects directly, as an attacker on the open port would.
      t = await startTestApp({ env: { TRUST_PROXY: '10.99.0.1' } });
      // An account exists (else /login sends to the setup page), created without signing in.
      const orm = t.app.get(MikroORM);
      await RequestContext.create(orm.em, () =>
        t.app.get(AccountsService).createUser({
          email: 'someone@studio.test',
          password: 'a long enough password',
          name: 'Someone',
          role: 'producer',
        }),
      );
    });
    afterAll(async () => {
      await t?.close();
    });

    it('counts forged X-Forwarded-For addresses as the one caller they are', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        const browser = t.client();
        const csrf = await browser.csrfFrom('/login');
        const res = await browser.agent
          .post('/login')
          .redirects(0)
          .set('X-Forwarded-For', `203.0.113.${i}`)
          .type('form')
          .send({ _csrf: csrf, email: 'someone@studio.test', password: `wrong ${i}` });
        statuses.push(res.status);
      }
      expect(new Set(statuses.slice(0, 10))).toEqual(new Set([401]));
      expect(statuses.slice(10)).toEqual([429, 429]);
    });
  });

  describe('a share password guessed from many addresses', () => {
    let w: ShareWorld;
    let token: string;
    const PASSWORD = 'the right password';

    beforeAll(async () => {
      // Here the test client *is* the trusted proxy, so each X-Forwarded-For really is a different recipient.
      w = await startShareWorld({ env: { TRUST_PROXY: '127.0.0.1,::1' } });
      const track = await makeTrack(
        w.producer,
        w.dbx,
        { title: 'Guarded Mix' },
        { 'Bounces/Mix.wav': Buffer.from('RIFF') },
      );
      const sel = await selectionOf(w.producer, track.id);
      const res = await api(w.producer).post('/api/v1/shares', {
        tracks: [{ trackId: track.id, files: Object.values(sel) }],
        password: PASSWORD,
      });
      expect(res.status).toBe(201);
      token = tokenOf(res.body.url);
    });
    afterAll(async () => {
      await w?.close();
    });

    async function attempt(address: string, password: string) {
      const visitor = w.t.client();
      const page = `/s/${token}`;
      const csrf = await visitor.agent
        .get(page)
        .set('X-Forwarded-For', address)
        .then((r) => /name="_csrf" value="([^"]+)"/.exec(r.text)![1]);
      return visitor.agent
        .post(page)
        .redirects(0)
        .set('X-Forwarded-For', address)
        .type('form')
        .send({ _csrf: csrf, password });
    }

    it('stops at the per-share ceiling however many addresses the guesses come from, the right password included', async () => {
      const perShare = new ShareTuning().unlockAttemptsPerSharePer5Min;
      const statuses: number[] = [];
      // Each address stays under its own limit (10 per 5 minutes).
      for (let i = 0; i < perShare; i++) statuses.push((await attempt(`198.51.100.${i}`, `guess number ${i}`)).status);
      expect(new Set(statuses)).toEqual(new Set([401]));
      const right = await attempt('198.51.100.250', PASSWORD);
      expect(right.status).toBe(429);
      expect(right.headers['retry-after']).toMatch(/^\d+$/);
      expect(([] as string[]).concat(right.headers['set-cookie'] ?? []).some((c) => c.startsWith('pd_share='))).toBe(
        false,
      );
    });
  });
});
