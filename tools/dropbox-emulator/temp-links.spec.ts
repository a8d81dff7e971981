import type { files } from 'dropbox';
import { EmulatorFixture, dropboxError, startFixture } from './spec-support';

describe('temporary links', () => {
  let fixture: EmulatorFixture;
  const audio = Buffer.from('RIFF....WAVEfmt 0123456789abcdef');

  beforeAll(async () => {
    fixture = await startFixture();
    await fixture.dbx.filesUpload({ path: '/Bounces/Final Mix.wav', contents: audio });
  });

  afterAll(async () => {
    await fixture.emulator.close();
  });

  async function temporaryLink(path: string): Promise<files.GetTemporaryLinkResult> {
    return (await fixture.dbx.filesGetTemporaryLink({ path })).result;
  }

  it('serves the file on the emulator, whole or by Range', async () => {
    const { link, metadata } = await temporaryLink('/bounces/final mix.wav');
    expect(link.startsWith(`${fixture.emulator.url}/_tl/`)).toBe(true);
    expect(metadata.path_display).toBe('/Bounces/Final Mix.wav');

    const whole = await fetch(link);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('audio/wav');
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await whole.arrayBuffer())).toEqual(audio);

    const part = await fetch(link, { headers: { Range: 'bytes=4-11' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 4-11/${audio.length}`);
    expect(await part.text()).toBe('....WAVE');

    const tail = await fetch(link, { headers: { Range: 'bytes=-6' } });
    expect(await tail.text()).toBe('abcdef');

    const outside = await fetch(link, { headers: { Range: `bytes=${audio.length}-` } });
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe(`bytes */${audio.length}`);
  });

  it('keeps serving the revision it was made for after the file changes', async () => {
    const { link } = await temporaryLink('/Bounces/Final Mix.wav');
    await fixture.dbx.filesUpload({
      path: '/Bounces/Final Mix.wav',
      contents: Buffer.from('new master'),
      mode: { '.tag': 'overwrite' },
    });
    expect(Buffer.from(await (await fetch(link)).arrayBuffer())).toEqual(audio);
    expect(await (await fetch((await temporaryLink('/Bounces/Final Mix.wav')).link)).text()).toBe('new master');
  });

  it('answers 410 Gone after the link lifetime, and 404 for unknown links', async () => {
    fixture.emulator.control.updateSettings({ tempLinkLifetimeMs: 500 });
    try {
      const { link } = await temporaryLink('/Bounces/Final Mix.wav');
      expect((await fetch(link)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect((await fetch(link)).status).toBe(410);
    } finally {
      fixture.emulator.control.updateSettings({ tempLinkLifetimeMs: 4 * 60 * 60 * 1000 });
    }
    expect((await fetch(`${fixture.emulator.url}/_tl/unknown/x.wav`)).status).toBe(404);
  });

  it('refuses folders with path/not_file', async () => {
    const folder = await dropboxError<files.GetTemporaryLinkError>(
      fixture.dbx.filesGetTemporaryLink({ path: '/Bounces' }),
    );
    expect(folder.error).toEqual({
      error_summary: 'path/not_file/..',
      error: { '.tag': 'path', path: { '.tag': 'not_file' } },
    });
  });
});
