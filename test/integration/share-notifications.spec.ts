import { ShareStatsService } from '../../src/modules/share/share-stats.service';
import { api, makeTrack, selectionOf, ShareWorld, startShareWorld, tokenOf } from './share-support';
import { deliveries, eventually, jsonApi, signatureValid, startReceiver } from './notifications-support';

/** The share module publishes: the first view of a link and each counted download reach the producer's webhook. */
describe('share events reach the producer', () => {
  let w: ShareWorld;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    w = await startShareWorld({ workers: true, env: { WEBHOOKS_ALLOW_PRIVATE: 'true' } });
    receiver = await startReceiver([200]);
  });
  afterAll(async () => {
    await receiver?.close();
    await w?.close();
  });

  it('share.opened once, on the first view only; share.downloaded with the category', async () => {
    const hook = await jsonApi(w.producer).post('/api/v1/webhooks', {
      url: receiver.url,
      events: ['share.opened', 'share.downloaded'],
    });
    expect(hook.status).toBe(201);
    const track = await makeTrack(w.producer, w.dbx, { title: 'Harbour Lights' });
    const sel = await selectionOf(w.producer, track.id);
    const created = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: Object.values(sel) }],
      downloads: { bounce: true, project: false, stem: false },
    });
    expect(created.status).toBe(201);
    const token = tokenOf(created.body.url);
    const ids = Object.fromEntries(
      Object.entries(await selectionOf(w.producer, track.id)).map(([name, value]) => [name, value.slice(2)]),
    );
    const stats = w.t.app.get(ShareStatsService);

    expect((await w.t.client().get(`/s/${token}`)).status).toBe(200);
    expect((await w.t.client().get(`/s/${token}`)).status).toBe(200);
    expect((await w.t.client().get(`/s/${token}/files/${ids['Master.wav']}/download`)).status).toBe(302);
    await stats.flush();
    await receiver.until(2);
    // More views later: the link was opened already.
    expect((await w.t.client().get(`/s/${token}`)).status).toBe(200);
    await stats.flush();
    await eventually(
      () => deliveries(w.t, hook.body.id),
      (rows) => rows.length >= 2,
    );

    const opened = receiver.received.filter((r) => r.body.type === 'share.opened');
    expect(opened).toHaveLength(1);
    expect(opened[0].body.data).toEqual({ shareId: created.body.id, title: created.body.title });
    const downloaded = receiver.received.filter((r) => r.body.type === 'share.downloaded');
    expect(downloaded.map((r) => r.body.data)).toEqual([
      { shareId: created.body.id, title: created.body.title, category: 'bounce', count: 1 },
    ]);
    for (const r of receiver.received)
      expect(signatureValid(hook.body.secret, r.raw, r.headers['x-pd-signature'])).toBe(true);
    // Nothing else (the third view published no second "opened").
    expect(receiver.received).toHaveLength(2);
  });
});
