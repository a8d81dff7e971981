import { EntityManager } from '@mikro-orm/postgresql';
import { Share } from '../../src/modules/share/entities/share.entity';
import { ShareAccessRequest } from '../../src/modules/share/entities/share-access-request.entity';
import { ShareClock } from '../../src/modules/share/share-clock';
import { ShareExpiryService } from '../../src/modules/share/share-expiry.service';
import { UsersService } from '../../src/modules/accounts/users.service';
import { DbContext } from '../../src/database/db-context';
import { EmailDigestService } from '../../src/modules/notifications/email-digest.service';
import { eventually, jsonApi, promoteDigests, startMailbox, startReceiver } from './notifications-support';
import { api, makeTrack, selectionOf, ShareWorld, startShareWorld, tokenOf } from './share-support';

const DAY = 24 * 3600_000;

/** The end of a link's life, told to its producer by email (a real SMTP server on loopback) and webhook. */
describe('expiring and expired links: notices, "Ask for more time" and the signed extend link', () => {
  let w: ShareWorld;
  let mailbox: Awaited<ReturnType<typeof startMailbox>>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let trackId: string;
  let files: string[];

  const db = () => w.t.app.get(EntityManager).fork();
  const clock = () => w.t.app.get(ShareClock);
  const at = (ms: number) => jest.spyOn(clock(), 'now').mockReturnValue(new Date(Date.now() + ms));
  const pending = (shareId: string) => w.t.app.get(EmailDigestService).pending(w.producer.id, shareId);

  async function makeShare(title: string, expiry = '7d') {
    const created = await api(w.producer).post('/api/v1/shares', { tracks: [{ trackId, files }], title, expiry });
    expect(created.status).toBe(201);
    return { id: created.body.id as string, token: tokenOf(created.body.url) };
  }

  beforeAll(async () => {
    mailbox = await startMailbox();
    receiver = await startReceiver([200]);
    w = await startShareWorld({
      workers: true,
      env: { SMTP_URL: mailbox.url, MAIL_FROM: 'Dashboard <dashboard@studio.test>', WEBHOOKS_ALLOW_PRIVATE: 'true' },
    });
    const track = await makeTrack(w.producer, w.dbx, { title: 'Harbour Lights' });
    trackId = track.id;
    files = Object.values(await selectionOf(w.producer, track.id));
    const hook = await jsonApi(w.producer).post('/api/v1/webhooks', {
      url: receiver.url,
      events: ['share.expiring', 'access.requested'],
    });
    expect(hook.status).toBe(201);
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(async () => {
    await w?.close();
    await receiver?.close();
    await mailbox?.close();
  });

  it('the expiring sweep tells once per link and expiry, 3 days ahead, by webhook and email', async () => {
    const soon = await makeShare('Expiring Soon');
    const later = await makeShare('Later', '30d');
    const expiry = w.t.app.get(ShareExpiryService);
    // (The scheduled sweep may run meanwhile too: what counts is what the producer is told.)
    at(3 * DAY); // 4 days left: nothing yet
    await expiry.sweepExpiring();
    expect((await db().findOneOrFail(Share, { id: soon.id })).expiryWarnedFor).toBeNull();
    at(5 * DAY); // 2 days left
    const first = await expiry.sweepExpiring();
    const second = await expiry.sweepExpiring();
    expect(first + second).toBeLessThanOrEqual(1);
    expect(second).toBe(0);
    const warned = await db().findOneOrFail(Share, { id: soon.id });
    expect(warned.expiryWarnedFor?.getTime()).toBe(warned.expiresAt!.getTime());
    await eventually(
      async () => receiver.received.filter((r) => r.body.type === 'share.expiring').length,
      (n) => n >= 1,
    );
    const told = receiver.received.filter((r) => r.body.type === 'share.expiring');
    expect(told).toHaveLength(1);
    expect(told[0].body.data).toMatchObject({
      shareId: soon.id,
      title: 'Expiring Soon',
      expiresAt: warned.expiresAt!.toISOString(),
    });
    expect((await db().findOneOrFail(Share, { id: later.id })).expiryWarnedFor).toBeNull();

    await eventually(
      () => pending(soon.id),
      (n) => n === 1,
    );
    await promoteDigests(w.t);
    const mail = (await eventually(
      async () => mailbox.mails.find((m) => m.subject === 'New activity on “Expiring Soon”'),
      Boolean,
    ))!;
    expect(mail.text).toMatch(/A link expires in 3 days/);
    expect(String(mail.html)).toMatch(/<li>.*A link expires in 3 days/);
  });

  it('the expiring sweep skips a disabled producer’s links and tells them once the producer is enabled again', async () => {
    const track = await makeTrack(w.other, w.otherDbx, { title: 'Quiet Room' });
    const created = await api(w.other).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: Object.values(await selectionOf(w.other, track.id)) }],
      title: 'Quiet Room',
      expiry: '7d',
    });
    expect(created.status).toBe(201);
    const warnedFor = async () => (await db().findOneOrFail(Share, { id: created.body.id })).expiryWarnedFor;
    const setDisabled = (disabled: boolean) =>
      w.t.app.get(DbContext).run(() => w.t.app.get(UsersService).setDisabled(w.producer.id, w.other.id, disabled));
    const expiry = w.t.app.get(ShareExpiryService);

    await setDisabled(true);
    at(5 * DAY); // 2 days left
    await expiry.sweepExpiring();
    expect(await warnedFor()).toBeNull();
    await setDisabled(false);
    await expiry.sweepExpiring();
    expect((await warnedFor())?.getTime()).toBe(
      (await db().findOneOrFail(Share, { id: created.body.id })).expiresAt!.getTime(),
    );
  });

  it('an expired page offers "Ask for more time"; bad input and no CSRF store nothing', async () => {
    const share = await makeShare('Gone Album');
    at(8 * DAY);
    const visitor = w.t.client();
    const gone = await visitor.get(`/s/${share.token}`);
    expect(gone.status).toBe(410);
    expect(gone.text).toContain('This link has expired');
    expect(gone.text).toContain(`action="/s/${share.token}/more-time"`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(gone.text)![1];
    const requests = () => db().count(ShareAccessRequest, { shareId: share.id });
    const post = (fields: Record<string, string>) =>
      visitor.agent.post(`/s/${share.token}/more-time`).redirects(0).type('form').send(fields);

    expect((await post({ name: 'Label A' })).status).toBe(403);
    const noName = await post({ _csrf: csrf, name: ' ', message: 'Please' });
    expect(noName.status).toBe(400);
    expect(noName.text).toMatch(/name is required/);
    expect((await post({ _csrf: csrf, name: 'Label A', message: 'x'.repeat(2001) })).status).toBe(400);
    expect(await requests()).toBe(0);
    // A disabled link offers nothing and takes no request.
    const revoked = await makeShare('Revoked');
    await api(w.producer).post(`/api/v1/shares/${revoked.id}/revoke`);
    const disabled = await visitor.get(`/s/${revoked.token}`);
    expect(disabled.status).toBe(410);
    expect(disabled.text).not.toContain('more-time');
    expect(
      (await visitor.agent.post(`/s/${revoked.token}/more-time`).type('form').send({ _csrf: csrf, name: 'X' })).status,
    ).toBe(410);
    // An open link needs no more time.
    jest.restoreAllMocks();
    const open = await makeShare('Open');
    expect(
      (await visitor.agent.post(`/s/${open.token}/more-time`).type('form').send({ _csrf: csrf, name: 'X' })).status,
    ).toBe(409);
    expect(await db().count(ShareAccessRequest, {})).toBe(0);
  });

  it('the producer gets the request with a one-click extend link: used once; a changed or expired signature changes nothing', async () => {
    const share = await makeShare('Please Extend');
    const expiresAt = (await db().findOneOrFail(Share, { id: share.id })).expiresAt!.getTime();
    at(8 * DAY);
    const visitor = w.t.client();
    const gone = await visitor.get(`/s/${share.token}`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(gone.text)![1];
    const asked = await visitor.agent
      .post(`/s/${share.token}/more-time`)
      .type('form')
      .send({ _csrf: csrf, name: 'Label <A>', message: 'Need it for Friday & after' });
    expect(asked.status).toBe(201);
    expect(asked.text).toContain('Your request is sent');

    // One email for the share's window: the expired visit and the request together.
    await eventually(
      () => pending(share.id),
      (n) => n === 2,
    );
    await promoteDigests(w.t);
    const mail = (await eventually(
      async () => mailbox.mails.find((m) => m.subject === '2 new events on “Please Extend”'),
      Boolean,
    ))!;
    expect(mail.text).toMatch(/Someone opens a link that has expired/);
    expect(mail.text).toMatch(
      /Someone asks for more time on an expired link \(Label <A>, Need it for Friday & after\)/,
    );
    expect(String(mail.html)).toContain('Label &#60;A&#62;');
    const url = /Extend the link by 7 days: (\S+)/.exec(mail.text ?? '')![1];
    expect(String(mail.html)).toContain(`href="${url.replace(/&/g, '&#38;')}"`);
    expect(url.startsWith(`${w.t.config.http.publicUrl}/shares/${share.id}/extend?`)).toBe(true);
    const path = url.slice(w.t.config.http.publicUrl.length);
    const webhook = await eventually(
      async () => receiver.received.find((r) => r.body.type === 'access.requested'),
      Boolean,
    );
    expect(webhook!.body.data).toMatchObject({
      shareId: share.id,
      name: 'Label <A>',
      message: 'Need it for Friday & after',
    });

    const producer = w.t.client(); // the email is opened anywhere: no sign-in needed
    const unchanged = async () =>
      expect((await db().findOneOrFail(Share, { id: share.id })).expiresAt!.getTime()).toBe(expiresAt);

    // A changed signature.
    const tampered = await producer.get(
      path.replace(/sig=([0-9a-f])/, (_m, c: string) => `sig=${c === '0' ? '1' : '0'}`),
    );
    expect(tampered.status).toBe(400);
    expect(tampered.text).toContain('This extend link is not valid');
    // A link past its 7 days (signed correctly).
    const request = await db().findOneOrFail(ShareAccessRequest, { shareId: share.id });
    const service = w.t.app.get(ShareExpiryService);
    const old = service.signedLink(share.id, request.id, clock().now().getTime() - 1000);
    const stale = await producer.get(service.extendUrl(old).slice(w.t.config.http.publicUrl.length));
    expect(stale.status).toBe(410);
    expect(stale.text).toContain('This extend link has expired');
    // Posting a tampered one does nothing either.
    const confirmPage = await producer.get(path);
    expect(confirmPage.status).toBe(200);
    expect(confirmPage.text).toContain('Extend “Please Extend” by 7 days?');
    expect(confirmPage.text).toContain('Need it for Friday &amp; after');
    const token = /name="_csrf" value="([^"]+)"/.exec(confirmPage.text)![1];
    const fields = Object.fromEntries(new URL(url).searchParams);
    const bad = await producer.agent
      .post(`/shares/${share.id}/extend`)
      .type('form')
      .send({ _csrf: token, ...fields, expires: String(Number(fields.expires) + 1) });
    expect(bad.status).toBe(400);
    await unchanged();
    expect((await visitor.get(`/s/${share.token}`)).status).toBe(410);

    // The one click.
    const done = await producer.agent
      .post(`/shares/${share.id}/extend`)
      .type('form')
      .send({ _csrf: token, ...fields });
    expect(done.status).toBe(200);
    expect(done.text).toContain('Link extended');
    const extended = (await db().findOneOrFail(Share, { id: share.id })).expiresAt!.getTime();
    expect(extended).toBe(clock().now().getTime() + 7 * DAY);
    expect((await visitor.get(`/s/${share.token}`)).status).toBe(200);
    // Used once.
    const again = await producer.agent
      .post(`/shares/${share.id}/extend`)
      .type('form')
      .send({ _csrf: token, ...fields });
    expect(again.status).toBe(409);
    expect(again.text).toContain('was used already');
    expect((await db().findOneOrFail(Share, { id: share.id })).expiresAt!.getTime()).toBe(extended);
  });
});
