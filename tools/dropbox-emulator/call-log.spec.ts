import { EmulatorFixture, startFixture } from './spec-support';

describe('call log', () => {
  let fx: EmulatorFixture;
  beforeAll(async () => {
    fx = await startFixture();
  });
  afterAll(async () => {
    await fx.emulator.close();
  });

  it('records each API call with its account, status, timing and a 429’s Retry-After, over HTTP too', async () => {
    fx.emulator.control.resetCounters();
    fx.emulator.control.addFault({ route: 'files/create_folder_v2', status: 429, retryAfterSeconds: 2, times: 1 });
    await fx.dbx.filesCreateFolderV2({ path: '/Logged' }).catch(() => undefined);
    await fx.dbx.filesCreateFolderV2({ path: '/Logged' });
    await fx.dbx.filesGetMetadata({ path: '/Logged' });

    const log = fx.emulator.control.callLog();
    expect(log.map((c) => [c.route, c.status, c.write])).toEqual([
      ['files/create_folder_v2', 429, true],
      ['files/create_folder_v2', 200, true],
      ['files/get_metadata', 200, false],
    ]);
    expect(log[0]).toMatchObject({ accountId: fx.account.account_id, retryAfterMs: 2000 });
    expect(log[1].retryAfterMs).toBeUndefined();
    for (const c of log) expect(c.endedAt).toBeGreaterThanOrEqual(c.startedAt);

    const overHttp = await (await fetch(`${fx.emulator.url}/_emulator/calls`)).json();
    expect(overHttp).toEqual(log);
    fx.emulator.control.resetCounters();
    expect(fx.emulator.control.callLog()).toEqual([]);
  });
});
