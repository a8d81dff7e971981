import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/**
 * The demo's mail catcher: a real SMTP server on loopback that keeps every message the app sends (the producer's
 * notification digests), and a small web page that lists them. Dev-only: smtp-server and mailparser are
 * devDependencies, present wherever the demo runs (it builds the project first), never in the production image.
 */
export interface DemoMailbox {
  smtpUrl: string;
  webUrl: string;
  close(): Promise<void>;
}

interface StoredMail {
  id: string;
  receivedAt: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string | null;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Plain text as HTML, with its web addresses clickable (the extend links of "Ask for more time" are in them). */
function textWithLinks(text: string): string {
  return escapeHtml(text).replace(/https?:\/\/[^\s<]+/g, (url) => `<a href="${url}">${url}</a>`);
}

export async function startDemoMailbox(options: {
  dataDir: string;
  smtpPort: number;
  webPort: number;
  host?: string;
}): Promise<DemoMailbox> {
  const host = options.host ?? '127.0.0.1';
  mkdirSync(options.dataDir, { recursive: true });
  const read = (): StoredMail[] =>
    readdirSync(options.dataDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(options.dataDir, f), 'utf8')) as StoredMail)
      .sort((a, b) => b.receivedAt.localeCompare(a.receivedAt));

  const smtp = new SMTPServer({
    authOptional: true,
    // Loopback only, and nodemailer would otherwise insist on upgrading to TLS with a certificate nobody trusts.
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 10 * 1024 * 1024,
    onData(stream, _session, callback) {
      simpleParser(stream).then((mail) => {
        const receivedAt = new Date().toISOString();
        const id = `${receivedAt.replace(/[:.]/g, '-')}-${Math.random().toString(36).slice(2, 8)}`;
        const stored: StoredMail = {
          id,
          receivedAt,
          from: mail.from?.text ?? '',
          to: Array.isArray(mail.to) ? mail.to.map((a) => a.text).join(', ') : (mail.to?.text ?? ''),
          subject: mail.subject ?? '(no subject)',
          text: mail.text ?? '',
          html: typeof mail.html === 'string' ? mail.html : null,
        };
        writeFileSync(join(options.dataDir, `${id}.json`), JSON.stringify(stored));
        callback();
      }, callback);
    },
  });
  await new Promise<void>((resolve, reject) => {
    smtp.once('error', reject);
    smtp.listen(options.smtpPort, host, () => resolve());
  });

  const web = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://mailbox');
    const headers = {
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    };
    const html = /^\/messages\/([A-Za-z0-9-]+)\.html$/.exec(url.pathname);
    if (html) {
      const mail = read().find((m) => m.id === html[1]);
      if (!mail?.html) {
        res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('No such message.');
        return;
      }
      // A message's own HTML, sandboxed: no scripts, nothing fetched from anywhere.
      res.writeHead(200, {
        ...headers,
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Security-Policy':
          "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:",
      });
      res.end(mail.html);
      return;
    }
    if (url.pathname !== '/') {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found.');
      return;
    }
    const mails = read();
    const items = mails
      .map(
        (m) => `<article class="mail"><h2>${escapeHtml(m.subject)}</h2>
<p class="meta">${escapeHtml(m.receivedAt.replace('T', ' ').slice(0, 19))} UTC · from ${escapeHtml(m.from)} · to ${escapeHtml(m.to)}${m.html ? ` · <a href="/messages/${m.id}.html" target="_blank" rel="noopener">HTML version</a>` : ''}</p>
<pre>${textWithLinks(m.text)}</pre></article>`,
      )
      .join('\n');
    res.writeHead(200, {
      ...headers,
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
    });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo mailbox (${mails.length})</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}.mail{border:1px solid #ccc;border-radius:8px;padding:.5rem 1rem;margin:1rem 0}.meta{color:#555;font-size:.9rem}pre{white-space:pre-wrap;overflow-wrap:anywhere}</style></head>
<body><h1>Demo mailbox</h1><p>Every email the demo's app sent (SMTP on ${escapeHtml(`${host}:${(smtp.server.address() as AddressInfo).port}`)}), newest first. Reload to see new ones.</p>
${items || '<p>No email yet. Notifications arrive here as digests, at most one per share every 10 minutes.</p>'}
</body></html>`);
  });
  await new Promise<void>((resolve, reject) => {
    web.once('error', reject);
    web.listen(options.webPort, host, () => resolve());
  });
  const smtpPort = (smtp.server.address() as AddressInfo).port;
  const webPort = (web.address() as AddressInfo).port;
  return {
    smtpUrl: `smtp://${host}:${smtpPort}`,
    webUrl: `http://${host}:${webPort}`,
    close: async () => {
      await new Promise<void>((resolve) => web.close(() => resolve()));
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    },
  };
}
