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
