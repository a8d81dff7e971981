import { api, makeTrack, selectionOf, ShareWorld, startShareWorld } from '../integration/share-support';

/** A share password guessed 10 times per address per 5 minutes must still take long to find: at least 8 characters. */
describe('security: share passwords have at least 8 characters', () => {
  let w: ShareWorld;
  let trackId: string;
  let files: string[];

  beforeAll(async () => {
    w = await startShareWorld();
    const track = await makeTrack(
      w.producer,
      w.dbx,
      { title: 'Short Password' },
      { 'Bounces/Mix.wav': Buffer.from('RIFF') },
    );
    trackId = track.id;
    files = Object.values(await selectionOf(w.producer, track.id));
  });
  afterAll(async () => {
    await w?.close();
  });

  it.each(['abcd', '1234567', '       x'.trim()])(
    'refuses %p when creating or changing a share (400 naming password)',
    async (password) => {
      const created = await api(w.producer).post('/api/v1/shares', { tracks: [{ trackId, files }], password });
      expect({ status: created.status, errors: created.body.errors }).toEqual({
        status: 400,
        errors: [{ field: 'password', message: 'password must be at least 8 characters' }],
      });
      const share = await api(w.producer).post('/api/v1/shares', { tracks: [{ trackId, files }] });
      const changed = await api(w.producer).patch(`/api/v1/shares/${share.body.id}`, { password });
      expect({ status: changed.status, field: changed.body.errors?.[0]?.field }).toEqual({
        status: 400,
        field: 'password',
      });
      expect((await api(w.producer).get(`/api/v1/shares/${share.body.id}`)).body.hasPassword).toBe(false);
    },
  );

  it('takes 8 characters', async () => {
    const created = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId, files }],
      password: '8 chars!',
    });
    expect(created.status).toBe(201);
    expect(created.body.hasPassword).toBe(true);
  });
});
