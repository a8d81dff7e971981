import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendWebhook, signature } from './webhook-sender';

describe('webhook sender', () => {
  it('refuses a private address at connect time (the check is repeated at delivery) and sends nothing', async () => {
    let requests = 0;
    const server = http.createServer((_req, res) => {
      requests += 1;
      res.writeHead(200).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const headers = { event: 'share.opened', eventId: 'e1', signature: signature('s', '{}') };
      for (const url of [`http://127.0.0.1:${port}/`, `http://localhost:${port}/`]) {
        const refused = await sendWebhook(url, headers, '{}', { allowPrivate: false, timeoutMs: 5_000 });
        expect(refused).toMatchObject({ ok: false, httpStatus: null, error: expect.stringMatching(/private/) });
      }
      expect(requests).toBe(0);
      const allowed = await sendWebhook(`http://localhost:${port}/`, headers, '{}', {
        allowPrivate: true,
        timeoutMs: 5_000,
      });
      expect(allowed).toEqual({ ok: true, httpStatus: 200, error: null });
      expect(requests).toBe(1);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
