import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import Redis from 'ioredis';
import { freePort } from './ports';
import { findExecutable, ManagedProcess, waitUntil } from './processes';
import type { ServiceHandle } from './types';

export const REDIS_SERVER_MISSING =
  'redis-server is not installed: install it with `apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS), or set REDIS_URL to a running Redis';

/** True when a Redis server at `url` answers PING within about a second. */
export async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // Without a listener ioredis prints "Unhandled error event" for a refused connection, which is an answer here.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export interface RedisServerOptions {
  /** Working directory for the append-only file; created if missing, reused afterwards. */
  dataDir: string;
  /** Defaults to a free port. */
  port?: number;
  /** Keep data across restarts (AOF, fsync every second), as production runs Redis. Default true. */
  appendOnly?: boolean;
  /** See {@link ManagedProcessOptions.detached}. */
  detached?: boolean;
}

/** A `redis-server` from PATH that we own, on 127.0.0.1 only, never writing RDB snapshots. */
export class RedisServer {
  private process: ManagedProcess;

  private constructor(
    private readonly executable: string,
    private readonly options: Required<RedisServerOptions>,
  ) {}

  static async start(options: RedisServerOptions): Promise<RedisServer> {
    const executable = findExecutable('redis-server');
    if (!executable) throw new Error(REDIS_SERVER_MISSING);
    const resolved: Required<RedisServerOptions> = {
      dataDir: resolve(options.dataDir),
      port: options.port ?? (await freePort()),
      appendOnly: options.appendOnly ?? true,
      detached: options.detached ?? false,
    };
    mkdirSync(resolved.dataDir, { recursive: true });
    const server = new RedisServer(executable, resolved);
    await server.launch();
    return server;
  }

  get port(): number {
    return this.options.port;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** SIGTERM: Redis flushes the append-only file and exits. */
  async stop(): Promise<void> {
    await this.process.stop(10_000);
  }

  /** Stops and starts again on the same port and data, as a Redis restart in production would. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  private async launch(): Promise<void> {
    const { dataDir, port, appendOnly, detached } = this.options;
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dataDir,
      '--save',
      '',
      '--appendonly',
      appendOnly ? 'yes' : 'no',
      '--daemonize',
      'no',
    ];
    const proc = new ManagedProcess(this.executable, args, { name: `redis-server (port ${port})`, detached });
    this.process = proc;
    await waitUntil(`redis-server on port ${port}`, async () => {
      if (!proc.isRunning) throw new Error(proc.describeExit(await proc.exited));
      return redisAnswers(this.url);
    });
  }
}

/** `url` if a Redis answers there, else our own `redis-server` keeping its data in `dataDir`. */
export async function ensureRedis(options: {
  dataDir: string;
  url?: string;
  detached?: boolean;
}): Promise<ServiceHandle> {
  if (options.url && (await redisAnswers(options.url))) {
    return { url: options.url, started: false, stop: async () => undefined };
  }
  const server = await RedisServer.start(options);
  return { url: server.url, started: true, stop: () => server.stop() };
}
