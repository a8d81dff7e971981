import { EntityManager } from '@mikro-orm/postgresql';
import { Webhook } from '../../src/modules/notifications/entities/webhook.entity';
import { NotificationEvents } from '../../src/modules/notifications/notification-events';
import { startTestApp, TestApp } from '../support/app';
import { signedInUser, TestUser } from '../support/users';
import { deliveries, eventually, jsonApi, signatureValid, startReceiver } from './notifications-support';

const FAST = { notifications: { webhookBackoffMs: 20, webhookAttempts: 5, webhookTimeoutMs: 5_000 } };

describe('webhooks (loopback receivers allowed)', () => {
  let t: TestApp;
  let producer: TestUser;
  let other: TestUser;

  beforeAll(async () => {
    t = await startTestApp({ workers: true, env: { WEBHOOKS_ALLOW_PRIVATE: 'true' }, tuning: FAST });
    producer = await signedInUser(t);
    other = await signedInUser(t);
  });
  afterAll(async () => t?.close());

  const hooksOf = (ownerId: string) => t.app.get(EntityManager).fork().find(Webhook, { ownerId });

  it('delivers a signed event: body {id, type, createdAt, data}, X-PD-Event, X-PD-Signature over the raw body', async () => {
    const receiver = await startReceiver([200]);
    try {
      const created = await jsonApi(producer).post('/api/v1/webhooks', {
        url: receiver.url,
        events: ['share.downloaded', 'share.opened'],
      });
      expect(created.status).toBe(201);
      expect(Object.keys(created.body).sort()).toEqual(['createdAt', 'events', 'id', 'secret', 'url']);
      const { id, secret } = created.body as { id: string; secret: string };
      // Sealed at rest, never listed.
      const stored = await t.app
        .get(EntityManager)
        .fork()
        .findOneOrFail(Webhook, { id }, { populate: ['secretSealed'] });
      expect(stored.secretSealed).not.toContain(secret);
      const list = await jsonApi(producer).get('/api/v1/webhooks');
      expect(list.body.items).toEqual([
        expect.objectContaining({ id, url: receiver.url, events: ['share.downloaded', 'share.opened'] }),
      ]);
      expect(JSON.stringify(list.body)).not.toContain(secret);

      const eventId = await t.app
        .get(NotificationEvents)
        .publish(producer.id, 'share.downloaded', { shareId: 'a-share', category: 'bounce' });
      // An event type the webhook did not choose is not sent.
      await t.app.get(NotificationEvents).publish(producer.id, 'comment.created', { shareId: 'a-share' });
      await receiver.until(1);
      const [got] = receiver.received;
      expect(got.headers['x-pd-event']).toBe('share.downloaded');
      expect(signatureValid(secret, got.raw, got.headers['x-pd-signature'])).toBe(true);
      expect(signatureValid('whsec_wrong', got.raw, got.headers['x-pd-signature'])).toBe(false);
      expect(got.body).toEqual({
        id: eventId,
        type: 'share.downloaded',
        createdAt: expect.any(String),
        data: { shareId: 'a-share', category: 'bounce' },
      });
      const log = await eventually(
        () => deliveries(t, id),
        (rows) => rows.length === 1,
      );
      expect(log[0]).toMatchObject({ status: 'delivered', httpStatus: 200, attempt: 1, eventId });
      const one = await jsonApi(producer).get(`/api/v1/webhooks/${id}`);
      expect(one.body.deliveries).toEqual([
        expect.objectContaining({ eventId, status: 'delivered', attempt: 1, httpStatus: 200 }),
      ]);
      expect(receiver.received).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });

  it('a receiver answering 500 twice then 200 gets the event three times with the same id: delivered once, logged after three attempts', async () => {
    const receiver = await startReceiver([500, 500, 200]);
    try {
      const created = await jsonApi(producer).post('/api/v1/webhooks', {
        url: receiver.url,
        events: ['share.listened'],
      });
      const { id, secret } = created.body as { id: string; secret: string };
      const eventId = await t.app.get(NotificationEvents).publish(producer.id, 'share.listened', { shareId: 's1' });
      const log = await eventually(
        () => deliveries(t, id),
        (rows) => rows.some((r) => r.status === 'delivered'),
      );
      expect(log.map((r) => [r.attempt, r.status, r.httpStatus])).toEqual([
        [1, 'failed', 500],
        [2, 'failed', 500],
        [3, 'delivered', 200],
      ]);
      expect(receiver.received).toHaveLength(3);
      expect(new Set(receiver.received.map((r) => r.body.id))).toEqual(new Set([eventId]));
      expect(new Set(receiver.received.map((r) => r.raw)).size).toBe(1);
      for (const r of receiver.received) expect(signatureValid(secret, r.raw, r.headers['x-pd-signature'])).toBe(true);
    } finally {
      await receiver.close();
    }
  });

  it("bad input gets 400 naming the field and stores nothing; another producer's webhook is 404", async () => {
    const before = (await hooksOf(producer.id)).length;
    const unknown = await jsonApi(producer).post('/api/v1/webhooks', {
      url: 'https://hooks.example.com/x',
      events: ['share.exploded'],
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors.map((e: { field: string }) => e.field)).toContain('events');
    const notUrl = await jsonApi(producer).post('/api/v1/webhooks', { url: 'not a url', events: ['share.opened'] });
    expect(notUrl.status).toBe(400);
    expect(notUrl.body.errors.map((e: { field: string }) => e.field)).toContain('url');
    const ftp = await jsonApi(producer).post('/api/v1/webhooks', {
      url: 'ftp://hooks.example.com/x',
      events: ['share.opened'],
    });
    expect(ftp.status).toBe(400);
    const none = await jsonApi(producer).post('/api/v1/webhooks', { url: 'https://hooks.example.com/x', events: [] });
    expect(none.status).toBe(400);
    expect((await hooksOf(producer.id)).length).toBe(before);

    const mine = (await hooksOf(producer.id))[0];
    expect((await jsonApi(other).delete(`/api/v1/webhooks/${mine.id}`)).status).toBe(404);
    expect((await jsonApi(other).get(`/api/v1/webhooks/${mine.id}`)).status).toBe(404);
    expect((await jsonApi(other).get('/api/v1/webhooks')).body.items).toEqual([]);
    expect((await hooksOf(producer.id)).length).toBe(before);
    expect((await jsonApi(producer).delete(`/api/v1/webhooks/${mine.id}`)).status).toBe(204);
    expect((await hooksOf(producer.id)).length).toBe(before - 1);
  });

  it('Settings lists webhooks with their deliveries and adds and deletes them through forms with CSRF', async () => {
    const receiver = await startReceiver([200]);
    try {
      const before = (await hooksOf(other.id)).length;
      const noCsrf = await other.browser.agent
        .post('/settings/webhooks')
        .type('form')
        .send({ url: receiver.url, events: 'share.opened' });
      expect(noCsrf.status).toBe(403);
      expect((await hooksOf(other.id)).length).toBe(before);
      const added = await other.browser.submit('/settings', '/settings/webhooks', {
        url: receiver.url,
        events: 'share.opened',
      });
      expect(added.status).toBe(303);
      const page = await other.browser.get('/settings');
      expect(page.text).toMatch(/signing secret, shown only now: whsec_/);
      expect(page.text).toContain(receiver.url);
      const [hook] = await hooksOf(other.id);
      await t.app.get(NotificationEvents).publish(other.id, 'share.opened', { shareId: 's2' });
      await eventually(
        () => deliveries(t, hook.id),
        (rows) => rows.length === 1,
      );
      const again = await other.browser.get('/settings');
      expect(again.text).not.toMatch(/whsec_/);
      expect(again.text).toMatch(/Recent deliveries[\s\S]*share\.opened[\s\S]*delivered \(200\)/);
      const deleted = await other.browser.submit('/settings', `/settings/webhooks/${hook.id}/delete`, {});
      expect(deleted.status).toBe(303);
      expect(await hooksOf(other.id)).toEqual([]);
    } finally {
      await receiver.close();
    }
  });
});

describe('webhooks: private targets refused (server-side request forgery)', () => {
  let t: TestApp;
  let producer: TestUser;

  beforeAll(async () => {
    t = await startTestApp({ workers: false });
    producer = await signedInUser(t);
  });
  afterAll(async () => t?.close());

  it.each([
    'http://127.0.0.1:9/hook',
    'http://[::1]/hook',
    'http://10.0.0.1/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://localhost:8080/hook',
    'http://[::ffff:127.0.0.1]/',
  ])('refuses %s with 400 naming url, storing nothing', async (url) => {
    const res = await jsonApi(producer).post('/api/v1/webhooks', { url, events: ['share.opened'] });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'url' })]);
    expect(await t.app.get(EntityManager).fork().count(Webhook, { ownerId: producer.id })).toBe(0);
  });
});
