import { MikroORM } from '@mikro-orm/postgresql';
import { request as httpRequest } from 'node:http';
import { readdir, rm } from 'node:fs/promises';
import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { Upload } from '../../src/modules/files/entities/upload.entity';
import { startTestApp, TestApp } from '../support/app';
import { dropboxEnv, seedConnection, startTestEmulator } from '../support/dropbox';
import { signedInUser, TestUser } from '../support/users';

const KB = 1024;

interface Setup {
  t: TestApp;
  producer: TestUser;
  trackId: string;
  csrf: string;
}

/** A multipart body of `sizes` files; the same bytes go out with Content-Length or chunked (no length given). */
function multipart(sizes: number[]): { body: Buffer; type: string } {
  const boundary = 'pd-limits';
  const parts = sizes.map((size, i) =>
    Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="take-${i}.wav"\r\nContent-Type: audio/wav\r\n\r\n`,
      ),
      Buffer.alloc(size, i + 1),
      Buffer.from('\r\n'),
    ]),
  );
  return {
    body: Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]),
    type: `multipart/form-data; boundary=${boundary}`,
  };
}

/** Posts the upload chunked, as a client that declares no length; resolves with the status and the answer. */
function postChunked(s: Setup, sizes: number[]): Promise<{ status: number; body: { message?: string } }> {
  const { body, type } = multipart(sizes);
  const url = new URL(`${s.t.url}/api/v1/tracks/${s.trackId}/uploads`);
  const cookies = (
    s.producer.browser.agent as unknown as { jar: { getCookies(a: unknown): Array<{ name: string; value: string }> } }
  ).jar;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { CookieAccessInfo } = require('cookiejar') as { CookieAccessInfo: new (d: string, p: string) => unknown };
  const cookie = cookies
    .getCookies(new CookieAccessInfo(url.hostname, '/'))
    .map((c) => `${c.name}=${c.value}`)
    .join('; ');
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        headers: {
          'Content-Type': type,
          'Transfer-Encoding': 'chunked',
          'X-CSRF-Token': s.csrf,
          Cookie: cookie,
          Accept: 'application/json',
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
      },
    );
    // The server may answer and close before the whole body is sent: that is the point.
    req.on('error', (err) =>
      /EPIPE|ECONNRESET/.test((err as NodeJS.ErrnoException).code ?? '') ? undefined : reject(err),
    );
    for (let offset = 0; offset < body.length; offset += 64 * KB) req.write(body.subarray(offset, offset + 64 * KB));
    req.end();
  });
}

/**
 * The spool is one disk for every producer: besides the per-file limit, a total per request, a quota per producer
 * for uploads not yet in Dropbox, and a free-space floor (507) — checked from Content-Length and while the body
 * streams in. A refused upload keeps nothing.
 */
describe('security: upload totals, spool quota and free disk', () => {
  let emulator: RunningDropboxEmulator;
  const apps: TestApp[] = [];

  async function setUp(env: Record<string, string>): Promise<Setup> {
    const spool = `/tmp/pd-limits-${process.pid}-${apps.length}`;
    await rm(spool, { recursive: true, force: true });
    const t = await startTestApp({ env: { ...dropboxEnv(emulator), SPOOL_DIR: spool, MAX_UPLOAD_MB: '1', ...env } });
    apps.push(t);
    const producer = await signedInUser(t);
    await seedConnection(t, emulator, producer, { email: `limits-${apps.length}@dropbox.test` });
    const csrf = await producer.browser.csrfFrom('/settings');
    const trackId = (
      await producer.browser.agent
        .post('/api/v1/tracks')
        .set('X-CSRF-Token', csrf)
        .send({ title: `Limits ${apps.length}` })
    ).body.id;
    return { t, producer, trackId, csrf };
  }

  beforeAll(async () => {
    emulator = await startTestEmulator();
  });
  afterAll(async () => {
    for (const t of apps) await t.close();
    await emulator?.close();
  });

  const upload = (s: Setup, sizes: number[]) => {
    const { body, type } = multipart(sizes);
    return s.producer.browser.agent
      .post(`/api/v1/tracks/${s.trackId}/uploads`)
      .set('X-CSRF-Token', s.csrf)
      .set('Content-Type', type)
      .send(body);
  };
  const kept = async (s: Setup) => ({
    uploads: await s.t.app.get(MikroORM).em.fork().count(Upload, {}),
    spooled: (await readdir(s.t.config.files.spoolDir).catch(() => [] as string[])).length,
  });

  describe('with MAX_UPLOAD_REQUEST_MB=2 and SPOOL_QUOTA_MB=3', () => {
    let s: Setup;
    beforeAll(async () => {
      s = await setUp({ MAX_UPLOAD_REQUEST_MB: '2', SPOOL_QUOTA_MB: '3' });
    });

    it('refuses a request whose files add up to more than the request total (413), declared or streamed, keeping nothing', async () => {
      const before = await kept(s);
      const declared = await upload(s, [900 * KB, 900 * KB, 900 * KB]);
      expect({ status: declared.status, message: declared.body.message }).toEqual({
        status: 413,
        message: 'one upload may carry at most 2 MB in all',
      });
      const streamed = await postChunked(s, [900 * KB, 900 * KB, 900 * KB]);
      expect({ status: streamed.status, message: streamed.body.message }).toEqual({
        status: 413,
        message: 'one upload may carry at most 2 MB in all',
      });
      expect(await kept(s)).toEqual(before);
    });

    it('refuses uploads beyond the producer’s spool quota (507), keeping what was already accepted', async () => {
      expect((await upload(s, [900 * KB, 900 * KB])).status).toBe(201);
      const accepted = await kept(s);
      expect(accepted.uploads).toBe(2);
      const over = await upload(s, [900 * KB, 900 * KB]);
      expect({ status: over.status, message: over.body.message }).toEqual({
        status: 507,
        message: expect.stringMatching(/spool quota of 3 MB/),
      });
      const overStreamed = await postChunked(s, [900 * KB, 900 * KB]);
      expect(overStreamed.status).toBe(507);
      expect(await kept(s)).toEqual(accepted);
      // Within what is left, still fine.
      expect((await upload(s, [500 * KB])).status).toBe(201);
    });

    it('counts each producer on their own', async () => {
      const other = await signedInUser(s.t);
      await seedConnection(s.t, emulator, other, { email: 'limits-other@dropbox.test' });
      const csrf = await other.browser.csrfFrom('/settings');
      const trackId = (
        await other.browser.agent.post('/api/v1/tracks').set('X-CSRF-Token', csrf).send({ title: 'Other' })
      ).body.id;
      const { body, type } = multipart([900 * KB, 900 * KB]);
      expect(
        (
          await other.browser.agent
            .post(`/api/v1/tracks/${trackId}/uploads`)
            .set('X-CSRF-Token', csrf)
            .set('Content-Type', type)
            .send(body)
        ).status,
      ).toBe(201);
    });
  });

  it('answers 507 before reading a body the disk would not keep SPOOL_MIN_FREE_MB free for, keeping nothing', async () => {
    // A floor larger than any disk: the check itself is what is tested, without filling the machine's disk.
    const s = await setUp({ SPOOL_MIN_FREE_MB: String(1024 * 1024 * 1024) });
    const before = await kept(s);
    for (const res of [await upload(s, [10 * KB]), await postChunked(s, [10 * KB])]) {
      expect({ status: res.status, message: res.body.message }).toEqual({
        status: 507,
        message: 'the server is short of disk space for uploads right now: please try again later',
      });
    }
    expect(await kept(s)).toEqual(before);
  });
});
