import { NotificationEvents } from '../../src/modules/notifications/notification-events';
import { NOTIFICATION_EVENTS } from '../../src/modules/notifications/notification-types';
import { startTestApp, TestApp } from '../support/app';
import { signedInUser, TestUser } from '../support/users';
import { deliveries, eventually, jsonApi, signatureValid, startReceiver } from './notifications-support';

/** Every event of the webhooks' contract can be subscribed to and is delivered; email-only ones cannot be. */
describe('webhooks: all six event types', () => {
  let t: TestApp;
  let producer: TestUser;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    t = await startTestApp({
      workers: true,
      env: { WEBHOOKS_ALLOW_PRIVATE: 'true' },
      tuning: { notifications: { webhookBackoffMs: 20 } },
    });
    producer = await signedInUser(t);
    receiver = await startReceiver([200]);
  });
  afterAll(async () => {
    await receiver?.close();
    await t?.close();
  });

  it('one webhook subscribed to all six gets each, signed; Settings shows the delivery log', async () => {
    expect([...NOTIFICATION_EVENTS].sort()).toEqual([
      'access.requested',
      'comment.created',
      'share.downloaded',
      'share.expiring',
      'share.listened',
      'share.opened',
    ]);
    const created = await jsonApi(producer).post('/api/v1/webhooks', {
      url: receiver.url,
      events: [...NOTIFICATION_EVENTS],
    });
    expect(created.status).toBe(201);
    const events = t.app.get(NotificationEvents);
    // Published by name, as the share module does (share.listened included: the listens counter publishes it).
    const ids: string[] = [];
    for (const type of NOTIFICATION_EVENTS)
      ids.push((await events.publish(producer.id, type, { shareId: 'share-1', title: 'Album' }))!);
    // An email-only event reaches no webhook.
    await events.publish(producer.id, 'share.expired-visited', { shareId: 'share-1', title: 'Album' });
    await receiver.until(6);
    const log = await eventually(
      () => deliveries(t, created.body.id),
      (rows) => rows.filter((r) => r.status === 'delivered').length === 6,
    );
    expect(new Set(log.map((r) => r.eventId))).toEqual(new Set(ids));
    expect(receiver.received.map((r) => r.body.type).sort()).toEqual([...NOTIFICATION_EVENTS].sort());
    for (const r of receiver.received) {
      expect(r.headers['x-pd-event']).toBe(r.body.type);
      expect(signatureValid(created.body.secret, r.raw, r.headers['x-pd-signature'])).toBe(true);
    }
    const settings = await producer.browser.get('/settings');
    expect(settings.text.match(/<td><code>[a-z.]+<\/code><\/td><td>1<\/td><td>delivered \(200\)/g)).toHaveLength(6);
    expect(receiver.received).toHaveLength(6);
  });

  it('refuses to subscribe to an email-only event, naming the field', async () => {
    const refused = await jsonApi(producer).post('/api/v1/webhooks', {
      url: receiver.url,
      events: ['share.expired-visited'],
    });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/events must be among/);
  });
});
