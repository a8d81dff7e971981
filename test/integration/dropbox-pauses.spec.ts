import { randomBytes } from 'node:crypto';
import type { AppConfig } from '../../src/config/app-config';
import { RedisService } from '../../src/common/redis/redis.module';
import { DropboxPauses } from '../../src/modules/dropbox/dropbox-pauses';
import { deleteRedisPrefix, testRedisUrl, uniqueRedisPrefix } from '../support/redis';

/**
 * The account pause seen by the calls of the process that read the 429, before its Redis write has landed: a call
 * whose Redis check is answered first (another connection, or a reply already on its way) must still wait.
 */
describe('Retry-After pauses within one process', () => {
  const prefix = uniqueRedisPrefix();
  const config = { redis: { url: testRedisUrl(), prefix } } as AppConfig;
  // Two connections, as a busy process has commands of many calls queued: the recording one is held up.
  const recorder = new RedisService(config);
  const checker = new RedisService(config);

  afterAll(async () => {
    await Promise.all([recorder.onApplicationShutdown(), checker.onApplicationShutdown()]);
    await deleteRedisPrefix(prefix);
  });

  it('a call of the same account checking while the 429 is being written to Redis waits out the pause', async () => {
    const accountId = `dbid:${randomBytes(16).toString('hex')}`;
    // Hold the recording connection for 300 ms, so its write reaches Redis only after the other call's check.
    const held = recorder.client.blpop(recorder.key('held', accountId), 0.3);
    const recorded = new DropboxPauses(recorder, accountId).pauseAccount(600);
    const started = Date.now();
    await new DropboxPauses(checker, accountId).waitForAccount();
    expect(Date.now() - started).toBeGreaterThanOrEqual(590);
    await Promise.all([held, recorded]);
  });

  it('writes into a namespace paused here wait; reads and other namespaces do not', async () => {
    const accountId = `dbid:${randomBytes(16).toString('hex')}`;
    const held = recorder.client.blpop(recorder.key('held', accountId), 0.3);
    const recorded = new DropboxPauses(recorder, accountId).pauseWrites('ns:1', 5_000);
    const pauses = new DropboxPauses(checker, accountId);
    expect(await pauses.writesPaused('ns:1')).toBe(true);
    expect(await pauses.writesPaused('ns:2')).toBe(false);
    // Reads go on: the account itself is not paused, so this returns while the namespace's writes still wait.
    await pauses.waitForAccount();
    expect(await pauses.writesPaused('ns:1')).toBe(true);
    await Promise.all([held, recorded]);
  });
});
