import type { files } from 'dropbox';
import { emulatorDropboxClient } from './index';
import { EmulatorFixture, dropboxError, startFixture } from './spec-support';

describe('faults, strict mode and counters', () => {
  let fixture: EmulatorFixture;

  beforeEach(async () => {
    fixture = await startFixture();
  });

  afterEach(async () => {
    await fixture.emulator.close();
  });

  it('injects a 429 with Retry-After, shaped like Dropbox rate limiting', async () => {
    fixture.emulator.control.addFault({ route: 'files/list_folder', status: 429, retryAfterSeconds: 7, times: 1 });
    const limited = await dropboxError(fixture.dbx.filesListFolder({ path: '' }));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.error).toEqual({
      error_summary: 'too_many_requests/..',
      error: { reason: { '.tag': 'too_many_requests' }, retry_after: 7 },
    });
    // Used up after one call.
    expect((await fixture.dbx.filesListFolder({ path: '' })).status).toBe(200);
    expect(fixture.emulator.control.counters().rateLimited).toBe(1);
  });

  it('fails the next N calls of a route, or every route with "*", with 5xx or route errors', async () => {
    const fault = fixture.emulator.control.addFault({ route: '*', status: 503, times: 2 });
    expect((await dropboxError(fixture.dbx.usersGetCurrentAccount())).status).toBe(503);
    expect((await dropboxError(fixture.dbx.filesListFolder({ path: '' }))).status).toBe(503);
    expect((await fixture.dbx.usersGetCurrentAccount()).status).toBe(200);
    expect(fixture.emulator.control.faults()).not.toContainEqual(expect.objectContaining({ id: fault.id }));

    fixture.emulator.control.addFault({ route: 'sharing/add_folder_member', errorTag: 'rate_limit' });
    fixture.emulator.control.addFault({
      route: 'files/get_metadata',
      error: { '.tag': 'path', path: { '.tag': 'restricted_content' } },
    });
    const added = await dropboxError(fixture.dbx.sharingAddFolderMember({ shared_folder_id: '1', members: [] }));
    expect(added.status).toBe(409);
    expect(added.error).toEqual({ error_summary: 'rate_limit/..', error: { '.tag': 'rate_limit' } });
    const restricted = await dropboxError<files.GetMetadataError>(fixture.dbx.filesGetMetadata({ path: '/x' }));
    expect(restricted.error.error_summary).toBe('path/restricted_content/..');

    fixture.emulator.control.clearFaults();
    expect(fixture.emulator.control.faults()).toEqual([]);
  });

  it('holds the matching calls until the fault is released, then answers them as the fault says', async () => {
    const hold = fixture.emulator.control.addFault({ route: 'files/get_metadata', hold: true, status: 503, times: 1 });
    let settled = false;
    const held = dropboxError(fixture.dbx.filesGetMetadata({ path: '/x' })).finally(() => (settled = true));
    await fixture.emulator.control.heldCall(hold.id);
    // Another call of the same account comes and goes meanwhile.
    expect((await fixture.dbx.filesListFolder({ path: '' })).status).toBe(200);
    expect(settled).toBe(false);
    expect(fixture.emulator.control.releaseFault(hold.id)).toBe(true);
    expect((await held).status).toBe(503);
    expect(fixture.emulator.control.releaseFault(hold.id)).toBe(false);

    // Clearing the faults lets held calls go too.
    const always = fixture.emulator.control.addFault({ route: 'files/list_folder', hold: true });
    const listing = fixture.dbx.filesListFolder({ path: '' });
    await fixture.emulator.control.heldCall(always.id);
    fixture.emulator.control.clearFaults();
    expect((await listing).status).toBe(200);

    // So does removing the fault (a removed fault holds nothing).
    const removed = fixture.emulator.control.addFault({ route: 'files/list_folder', hold: true });
    const another = fixture.dbx.filesListFolder({ path: '' });
    await fixture.emulator.control.heldCall(removed.id);
    expect(fixture.emulator.control.removeFault(removed.id)).toBe(true);
    expect((await another).status).toBe(200);
  });

  it('answers overlapping writes of one account with too_many_write_operations in strict mode', async () => {
    fixture.emulator.control.updateSettings({ strict: true, latencyMs: 40 });
    const uploads = ['a', 'b', 'c'].map((name) =>
      fixture.dbx.filesUpload({ path: `/strict/${name}.txt`, contents: Buffer.from(name) }).then(
        () => 'ok',
        (error: { status: number; headers: { get(name: string): string | null }; error: unknown }) => error,
      ),
    );
    const outcomes = await Promise.all(uploads);
    expect(outcomes.filter((outcome) => outcome === 'ok')).toHaveLength(1);
    for (const outcome of outcomes.filter((item) => item !== 'ok')) {
      if (typeof outcome === 'string') continue;
      expect(outcome.status).toBe(429);
      expect(outcome.headers.get('retry-after')).toBe('1');
      expect(outcome.error).toEqual({
        error_summary: 'too_many_write_operations/..',
        error: { reason: { '.tag': 'too_many_write_operations' }, retry_after: 1 },
      });
    }
    // Reads don't take the lock, and a write after the others finished goes through.
    await Promise.all([
      fixture.dbx.filesListFolder({ path: '' }),
      fixture.dbx.filesUpload({ path: '/strict/d.txt', contents: Buffer.from('d') }),
    ]);
    const counters = fixture.emulator.control.counters();
    expect(counters.maxConcurrentWritesByAccount[fixture.account.account_id]).toBeGreaterThanOrEqual(2);
    expect(counters.rateLimited).toBe(2);
  });

  it('counts calls per route and account, bytes received and concurrency without strict mode', async () => {
    fixture.emulator.control.updateSettings({ latencyMs: 30 });
    const other = fixture.emulator.control.registerAccount({ email: 'engineer@example.com' });
    const otherClient = emulatorDropboxClient(
      fixture.emulator.url,
      fixture.emulator.control.issueToken({ email: other.email }).access_token,
    );
    await Promise.all([
      fixture.dbx.filesUpload({ path: '/one.bin', contents: Buffer.alloc(1000) }),
      fixture.dbx.filesUpload({ path: '/two.bin', contents: Buffer.alloc(1000) }),
      otherClient.filesCreateFolderV2({ path: '/Mine' }),
    ]);
    const counters = fixture.emulator.control.counters();
    expect(counters.callsByRoute['files/upload']).toBe(2);
    expect(counters.callsByRoute['files/create_folder_v2']).toBe(1);
    expect(counters.callsByAccount).toEqual({ [fixture.account.account_id]: 2, [other.account_id]: 1 });
    expect(counters.maxConcurrentWritesByAccount).toEqual({ [fixture.account.account_id]: 2, [other.account_id]: 1 });
    expect(counters.bytesReceived).toBeGreaterThanOrEqual(2000);

    fixture.emulator.control.resetCounters();
    expect(fixture.emulator.control.counters().callsByRoute).toEqual({});
  });

  it('offers the control API over HTTP, including the streaming sink', async () => {
    const control = (path: string, method: string, body?: unknown) =>
      fetch(`${fixture.emulator.url}/_emulator/${path}`, {
        method,
        headers: { 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const account = (await (
      await control('accounts', 'POST', { email: 'api@example.com', autoAccept: true })
    ).json()) as {
      account_id: string;
    };
    const token = (await (await control('tokens', 'POST', { account_id: account.account_id })).json()) as {
      access_token: string;
    };
    expect(
      (await emulatorDropboxClient(fixture.emulator.url, token.access_token).usersGetCurrentAccount()).result.email,
    ).toBe('api@example.com');
    const fault = (await (await control('faults', 'POST', { route: 'files/upload', status: 500 })).json()) as {
      id: string;
    };
    expect(await (await control(`faults/${fault.id}`, 'DELETE')).json()).toEqual({ removed: true });
    expect(
      ((await (await control('settings', 'PUT', { asyncPolls: 3 })).json()) as { asyncPolls: number }).asyncPolls,
    ).toBe(3);
    expect((await control('settings', 'PUT', { asyncPolls: 'many' })).status).toBe(400);
    expect((await control('nonsense', 'GET')).status).toBe(404);

    const sink = await fetch(`${fixture.emulator.url}/_emulator/sink`, {
      method: 'PUT',
      body: Buffer.alloc(3 * 1024 * 1024, 1),
    });
    expect(await sink.json()).toEqual({
      bytes: 3 * 1024 * 1024,
      content_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const counters = (await (await control('counters', 'GET')).json()) as { bytesReceived: number };
    expect(counters.bytesReceived).toBeGreaterThanOrEqual(3 * 1024 * 1024);
  });
});
