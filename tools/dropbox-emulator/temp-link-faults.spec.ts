import { EmulatorFixture, startFixture } from './spec-support';

/** Reads a body chunk by chunk, so the bytes that arrived before a failure can be counted. */
async function readUntilFailure(res: Response): Promise<{ bytes: Buffer; error?: unknown }> {
  const chunks: Uint8Array[] = [];
  const reader = res.body!.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes: Buffer.concat(chunks) };
      chunks.push(value);
    }
  } catch (error) {
    return { bytes: Buffer.concat(chunks), error };
  }
}

describe('faults on temporary links', () => {
  let fixture: EmulatorFixture;
  // Several socket reads long, so a cut lands in the middle of a real stream.
  const audio = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) % 251));
  let link: string;

  beforeAll(async () => {
    fixture = await startFixture();
    await fixture.dbx.filesUpload({ path: '/Bounces/Final Mix.wav', contents: audio });
    link = (await fixture.dbx.filesGetTemporaryLink({ path: '/Bounces/Final Mix.wav' })).result.link;
  });

  afterEach(() => fixture.emulator.control.clearFaults());

  afterAll(async () => {
    await fixture.emulator.close();
  });

  it('cuts a download after cutAfterBytes: full headers, that many bytes, then a failed body; the next fetch is whole', async () => {
    fixture.emulator.control.addFault({ route: 'temp_link', cutAfterBytes: 1000, times: 1 });
    const cut = await fetch(link);
    expect(cut.status).toBe(200);
    expect(cut.headers.get('content-length')).toBe(String(audio.length));
    const received = await readUntilFailure(cut);
    // undici's word for a body that ended before its Content-Length.
    expect(received.error).toMatchObject({ message: 'terminated' });
    expect(received.bytes.equals(audio.subarray(0, 1000))).toBe(true);
    expect(Buffer.from(await (await fetch(link)).arrayBuffer()).equals(audio)).toBe(true);
    expect(fixture.emulator.control.faults()).toEqual([]);
  });

  it('counts the cut from the start of a Range answer', async () => {
    fixture.emulator.control.addFault({ route: 'temp_link', cutAfterBytes: 100_000 });
    const part = await fetch(link, { headers: { Range: 'bytes=50000-' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-length')).toBe(String(audio.length - 50_000));
    const received = await readUntilFailure(part);
    expect(received.error).toMatchObject({ message: 'terminated' });
    expect(received.bytes.equals(audio.subarray(50_000, 150_000))).toBe(true);
    // A cut no shorter than the answer leaves it whole.
    const small = await fetch(link, { headers: { Range: 'bytes=0-99' } });
    expect(Buffer.from(await small.arrayBuffer()).equals(audio.subarray(0, 100))).toBe(true);
  });

  it('answers a status fault with a short text body instead of the file, and delays with latencyMs', async () => {
    fixture.emulator.control.addFault({ route: 'temp_link', status: 503, retryAfterSeconds: 2, times: 1 });
    const failed = await fetch(link);
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('2');
    expect(failed.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await failed.text()).toBe('Service Unavailable');

    fixture.emulator.control.addFault({ route: 'temp_link', latencyMs: 300, times: 1 });
    const startedAt = Date.now();
    const slow = await fetch(link);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(290);
    expect(Buffer.from(await slow.arrayBuffer()).equals(audio)).toBe(true);
  });

  it('leaves links alone for "*" faults and API routes for temp_link faults', async () => {
    fixture.emulator.control.addFault({ route: '*', status: 500 });
    fixture.emulator.control.addFault({ route: 'temp_link', status: 404, accountId: fixture.account.account_id });
    expect(Buffer.from(await (await fetch(link)).arrayBuffer()).equals(audio)).toBe(true);
    fixture.emulator.control.clearFaults();

    fixture.emulator.control.addFault({ route: 'temp_link', status: 500 });
    expect((await fixture.dbx.usersGetCurrentAccount()).status).toBe(200);
    expect((await fetch(link)).status).toBe(500);
  });
});
