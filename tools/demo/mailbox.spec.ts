import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { startDemoMailbox } from './mailbox';

describe('the demo mailbox', () => {
  it('receives over SMTP, keeps messages across restarts and lists them escaped, with links clickable and HTML sandboxed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pd-mailbox-'));
    try {
      let mailbox = await startDemoMailbox({ dataDir: dir, smtpPort: 0, webPort: 0 });
      const transport = nodemailer.createTransport(mailbox.smtpUrl);
      await transport.sendMail({
        from: 'Dashboard <dashboard@demo.test>',
        to: 'demo@studio.test',
        subject: 'New activity on “Album <A>”',
        text: 'Extend the link by 7 days: http://localhost:3000/shares/x/extend?request=r&sig=s',
        html: '<p>Hi</p><script>alert(1)</script>',
      });
      transport.close();
      await mailbox.close();
      // A restart shows what arrived before.
      mailbox = await startDemoMailbox({ dataDir: dir, smtpPort: 0, webPort: 0 });
      const page = await fetch(mailbox.webUrl);
      expect(page.status).toBe(200);
      const body = await page.text();
      expect(body).toContain('New activity on “Album &#60;A&#62;”');
      expect(body).toContain('<a href="http://localhost:3000/shares/x/extend?request=r&#38;sig=s">');
      expect(page.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'");
      const htmlLink = /href="(\/messages\/[^"]+\.html)"/.exec(body)![1];
      const html = await fetch(`${mailbox.webUrl}${htmlLink}`);
      expect(html.headers.get('content-security-policy')).toMatch(/^sandbox .*default-src 'none'/);
      expect((await fetch(`${mailbox.webUrl}/messages/nope.html`)).status).toBe(404);
      await mailbox.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
