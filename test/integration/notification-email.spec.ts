import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { QueueName } from '../../src/queues/queues';
import { EmailDigestService } from '../../src/modules/notifications/email-digest.service';
import { NotificationEvents } from '../../src/modules/notifications/notification-events';
import { startTestApp, TestApp } from '../support/app';
import { signedInUser, TestUser } from '../support/users';
import { eventually, startMailbox } from './notifications-support';

describe('notification emails: one digest per share per window', () => {
  let mailbox: Awaited<ReturnType<typeof startMailbox>>;
  let t: TestApp;
  let producer: TestUser;

  beforeAll(async () => {
    mailbox = await startMailbox();
    // A long window: the digest jobs wait (delayed) until the test has put every event in, then it promotes them.
    t = await startTestApp({
      workers: true,
      env: { SMTP_URL: mailbox.url, MAIL_FROM: 'Dashboard <dashboard@studio.test>' },
      tuning: { notifications: { digestWindowMs: 600_000, digestGatherMs: 600_000 } },
    });
    producer = await signedInUser(t);
  });
  afterAll(async () => {
    await t?.close();
    await mailbox?.close();
  });

  const queue = () => t.app.get<Queue>(getQueueToken(QueueName.Notifications));
  const promoteDigests = async () => {
    for (const job of await queue().getDelayed()) if (job.name === 'digest') await job.promote();
  };
  const pending = (share: string) => t.app.get(EmailDigestService).pending(producer.id, share);

  it('100 events across two shares in a window → one email per share with every event, text and HTML', async () => {
    const events = t.app.get(NotificationEvents);
    for (let i = 0; i < 100; i += 1) {
      const share = i % 2 === 0 ? 'share-a' : 'share-b';
      await events.publish(producer.id, i % 3 === 0 ? 'share.opened' : 'share.downloaded', {
        shareId: share,
        title: share === 'share-a' ? 'Album <A>' : 'Single B',
        category: 'bounce',
      });
    }
    await eventually(
      async () => [await pending('share-a'), await pending('share-b')],
      ([a, b]) => a === 50 && b === 50,
    );
    // One digest job per share, whatever the number of events.
    expect((await queue().getDelayed()).filter((j) => j.name === 'digest')).toHaveLength(2);
    expect(mailbox.mails).toHaveLength(0);
    await promoteDigests();
    await eventually(
      async () => mailbox.mails.length,
      (n) => n >= 2,
    );
    await eventually(
      async () => [await pending('share-a'), await pending('share-b')],
      ([a, b]) => a === 0 && b === 0,
    );

    const subjects = mailbox.mails.map((m) => m.subject).sort();
    expect(subjects).toEqual(['50 new events on “Album <A>”', '50 new events on “Single B”']);
    for (const mail of mailbox.mails) {
      expect(mail.to && !Array.isArray(mail.to) ? mail.to.value[0].address : null).toBe(producer.email);
      expect(mail.from?.value[0].address).toBe('dashboard@studio.test');
      expect((mail.text ?? '').match(/^- /gm)).toHaveLength(50);
      expect(String(mail.html).match(/<li>/g)).toHaveLength(50);
    }
    const albumHtml = String(mailbox.mails.find((m) => m.subject?.includes('Album'))!.html);
    expect(albumHtml).toContain('Album &#60;A&#62;');
    expect(albumHtml).not.toContain('<A>');

    // Another event right after: it waits for the next window (a delayed job), no second email now.
    await events.publish(producer.id, 'share.downloaded', { shareId: 'share-a', title: 'Album <A>', category: 'stem' });
    await eventually(
      () => pending('share-a'),
      (n) => n === 1,
    );
    const next = (await queue().getDelayed()).filter((j) => j.name === 'digest');
    expect(next).toHaveLength(1);
    expect(next[0].opts.delay).toBeGreaterThan(60_000);
    expect(mailbox.mails).toHaveLength(2);
    await promoteDigests();
    await eventually(
      async () => mailbox.mails.length,
      (n) => n === 3,
    );
    expect(mailbox.mails[2].subject).toBe('New activity on “Album <A>”');
  });

  it('an event type switched off in Settings is not mailed', async () => {
    const saved = await producer.browser.submit('/settings', '/settings/notifications', { email: 'share.opened' });
    expect(saved.status).toBe(303);
    expect((await producer.browser.get('/settings')).text).toMatch(/value="share\.downloaded">/);
    const events = t.app.get(NotificationEvents);
    await events.publish(producer.id, 'share.downloaded', { shareId: 'share-c', title: 'C' });
    await events.publish(producer.id, 'share.opened', { shareId: 'share-c', title: 'C' });
    await eventually(
      () => pending('share-c'),
      (n) => n === 1,
    );
    // Both event jobs are done, and only the opened one was collected.
    await eventually(
      async () => (await queue().getJobCounts('waiting', 'active')) as Record<string, number>,
      (c) => c.waiting + c.active === 0,
    );
    expect(await pending('share-c')).toBe(1);
    const before = mailbox.mails.length;
    await promoteDigests();
    await eventually(
      async () => mailbox.mails.length,
      (n) => n === before + 1,
    );
    expect(mailbox.mails.at(-1)!.text).toMatch(/opened for the first time/);
    expect(mailbox.mails.at(-1)!.text).not.toMatch(/A download/);
  });
});
