import { EntityManager } from '@mikro-orm/postgresql';
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestApp } from '../support/app';
import { eventually as poll } from '../support/poll';
import type { TestUser } from '../support/users';
import { WebhookDelivery } from '../../src/modules/notifications/entities/webhook-delivery.entity';

export interface Received {
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: { id: string; type: string; createdAt: string; data: Record<string, unknown> };
}

/** An HTTP receiver on loopback that answers each request with the next status of `script` (then the last one). */
export async function startReceiver(script: number[] = [200]) {
  const received: Received[] = [];
  const waiters: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const status = script[Math.min(received.length, script.length - 1)];
      received.push({ headers: req.headers, raw, body: JSON.parse(raw) as Received['body'] });
      res.writeHead(status).end();
      waiters.splice(0).forEach((w) => w());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    /** Resolves once `n` requests arrived. */
    async until(n: number): Promise<void> {
      while (received.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The check a receiver makes: HMAC-SHA256 of the raw body with the secret, compared in constant time. */
export function signatureValid(secret: string, raw: string, header: string | string[] | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
  const given = Buffer.from(String(header ?? ''));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function deliveries(t: TestApp, webhookId: string): Promise<WebhookDelivery[]> {
  return t.app
    .get(EntityManager)
    .fork()
    .find(WebhookDelivery, { webhookId }, { orderBy: { attempt: 'asc' } });
}

/** Polls the database until `done` says so (outcomes, not moments: no time limit of its own besides Jest's). */
export function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  return poll(read, done, { timeoutMs: 55_000, everyMs: 50 });
}

export function jsonApi(user: TestUser) {
  const csrf = () => user.browser.csrfFrom('/settings');
  return {
    get: (path: string) => user.browser.agent.get(path).redirects(0),
    // The token is read first: a request takes the cookies of the moment it is made.
    post: async (path: string, body: object) => {
      const token = await csrf();
      return user.browser.agent.post(path).set('X-CSRF-Token', token).send(body);
    },
    delete: async (path: string) => {
      const token = await csrf();
      return user.browser.agent.delete(path).set('X-CSRF-Token', token);
    },
  };
}

/** A real SMTP server on loopback; every message is parsed as a mail client would. */
export async function startMailbox() {
  const { SMTPServer } = await import('smtp-server');
  const { simpleParser } = await import('mailparser');
  const mails: import('mailparser').ParsedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream).then((mail) => {
        mails.push(mail);
        callback();
      }, callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Sends every digest now (they wait out their window as delayed jobs). */
export async function promoteDigests(t: TestApp): Promise<number> {
  const { getQueueToken } = await import('@nestjs/bullmq');
  const queue = t.app.get<import('bullmq').Queue>(getQueueToken('notifications'));
  let n = 0;
  for (const job of await queue.getDelayed()) {
    if (job.name === 'digest') {
      await job.promote();
      n += 1;
    }
  }
  return n;
}
