import { createServer } from 'node:net';

/**
 * Asks the kernel for a port nobody listens on. There is a short window between closing the probe and the caller
 * binding the port; the servers started here bind within milliseconds, which is good enough for dev and test use.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`Could not read the port of a probe socket on ${host}`));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/** `port` when nobody listens on it, else a free one: stable addresses across runs where possible. */
export async function preferredPort(port: number, host = '127.0.0.1'): Promise<{ port: number; preferred: boolean }> {
  const free = await new Promise<boolean>((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
  return free ? { port, preferred: true } : { port: await freePort(host), preferred: false };
}
