import { MikroORM } from '@mikro-orm/postgresql';
import { readdir } from 'node:fs/promises';
import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { Upload } from '../../src/modules/files/entities/upload.entity';
import { startTestApp, TestApp } from '../support/app';
import { dropboxEnv, seedConnection, startTestEmulator } from '../support/dropbox';
import { signedInUser, TestUser } from '../support/users';

/**
 * Upload names the app itself must refuse. A raw control byte in `filename="…"` is already refused by the multipart
 * parser as malformed, which would hide a missing check; the RFC 5987 form `filename*=UTF-8''…` is decoded by the
 * parser, so these names reach the app's own rules exactly as written.
 */
describe('security: upload names that could escape or corrupt a folder are refused by the app', () => {
  let emulator: RunningDropboxEmulator;
  let t: TestApp;
  let producer: TestUser;
  let trackId: string;
  let csrf: string;

  beforeAll(async () => {
    emulator = await startTestEmulator();
    t = await startTestApp({ env: { ...dropboxEnv(emulator), SPOOL_DIR: `/tmp/pd-upload-names-${process.pid}` } });
    producer = await signedInUser(t);
    await seedConnection(t, emulator, producer, { email: 'names@dropbox.test' });
    csrf = await producer.browser.csrfFrom('/settings');
    trackId = (await producer.browser.agent.post('/api/v1/tracks').set('X-CSRF-Token', csrf).send({ title: 'Names' }))
      .body.id;
  });
  afterAll(async () => {
    await t?.close();
    await emulator?.close();
  });

  /** The spool folder appears with the first upload. */
  const spooled = () => readdir(t.config.files.spoolDir).catch(() => [] as string[]);

  const upload = (disposition: string) => {
    const boundary = 'pd-names';
    const body = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="files"; ${disposition}\r\nContent-Type: application/octet-stream\r\n\r\nbytes\r\n--${boundary}--\r\n`,
    );
    return producer.browser.agent
      .post(`/api/v1/tracks/${trackId}/uploads`)
      .set('X-CSRF-Token', csrf)
      .set('Content-Type', `multipart/form-data; boundary=${boundary}`)
      .send(body);
  };

  it.each([
    ['bad%07name.wav', /control characters/],
    ['line%0Abreak.wav', /control characters/],
    ['nul%00.wav', /control characters/],
    ['del%7F.wav', /control characters/],
    ['..', /not a file/],
    ['.', /not a file/],
    ['..%2F..%2Fetc%2Fpasswd', /path separators/],
    ['..%5Cwindows.wav', /path separators/],
    // U+202E RIGHT-TO-LEFT OVERRIDE: shown as "evilexe.png".
    ['evil%E2%80%AEgnp.exe', /direction override/],
    // U+2067 RIGHT-TO-LEFT ISOLATE, U+202B RIGHT-TO-LEFT EMBEDDING.
    ['mix%E2%81%A7vaw.exe', /direction override/],
    ['mix%E2%80%ABvaw.exe', /direction override/],
  ])("refuses filename*=UTF-8''%s with 400 naming the rule, keeping nothing", async (encoded, rule) => {
    const uploadsBefore = await t.app.get(MikroORM).em.fork().count(Upload, {});
    const spooledBefore = await spooled();
    const res = await upload(`filename*=UTF-8''${encoded}`);
    expect({ status: res.status, message: res.body.message }).toEqual({
      status: 400,
      message: expect.stringMatching(rule),
    });
    expect(await t.app.get(MikroORM).em.fork().count(Upload, {})).toBe(uploadsBefore);
    expect(await spooled()).toEqual(spooledBefore);
  });

  it('accepts an ordinary name sent the same way (the refusals are the names’ doing)', async () => {
    const res = await upload(`filename*=UTF-8''Mix%20%C3%BCber%20alles.wav`);
    expect(res.status).toBe(201);
    expect(res.body[0].fileName).toBe('Mix über alles.wav');
  });
});
