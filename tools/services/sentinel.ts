import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Redis from 'ioredis';
import { freePort } from './ports';
import { findExecutable, ManagedProcess, waitUntil } from './processes';
import { REDIS_SERVER_MISSING, redisAnswers } from './redis';

/**
 * A Redis Sentinel deployment on loopback, owned by its caller: a primary, a replica and three sentinels (quorum 2),
 * all `redis-server` processes on free ports. For the tests and the bench that fail a primary over under load.
 */
export class SentinelGroup {
  private constructor(
    readonly name: string,
    readonly servers: Array<{ port: number; process: ManagedProcess }>,
    readonly sentinels: Array<{ port: number; process: ManagedProcess }>,
  ) {}

  /** `host:port,…` for REDIS_SENTINELS. */
  get sentinelList(): string {
    return this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',');
  }

  static async start({
    dataDir,
    name = 'pdprimary',
    downAfterMs = 1_000,
  }: {
    dataDir: string;
    name?: string;
    downAfterMs?: number;
  }): Promise<SentinelGroup> {
    const executable = findExecutable('redis-server');
    if (!executable) throw new Error(REDIS_SERVER_MISSING);
    const dir = resolve(dataDir);
    const servers: SentinelGroup['servers'] = [];
    const sentinels: SentinelGroup['sentinels'] = [];
    const group = new SentinelGroup(name, servers, sentinels);
    try {
      const primaryPort = await freePort();
      for (const role of ['primary', 'replica'] as const) {
        const port = role === 'primary' ? primaryPort : await freePort();
        const serverDir = join(dir, `redis-${port}`);
        mkdirSync(serverDir, { recursive: true });
        // noeviction, as the app requires of every server that may become the primary.
        const args = [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          serverDir,
          '--save',
          '',
          '--appendonly',
          'no',
          '--maxmemory-policy',
          'noeviction',
        ];
        if (role === 'replica') args.push('--replicaof', '127.0.0.1', String(primaryPort));
        const proc = new ManagedProcess(executable, args, { name: `redis-server ${role} (port ${port})` });
        servers.push({ port, process: proc });
        await waitUntil(`redis-server ${role} on port ${port}`, async () => {
          if (!proc.isRunning) throw new Error(proc.describeExit(await proc.exited));
          return redisAnswers(`redis://127.0.0.1:${port}`);
        });
      }
      for (let i = 0; i < 3; i++) {
        const port = await freePort();
        const sentinelDir = join(dir, `sentinel-${port}`);
        mkdirSync(sentinelDir, { recursive: true });
        // Sentinel rewrites its configuration file as it learns the topology, so each gets a writable one.
        const conf = join(sentinelDir, 'sentinel.conf');
        writeFileSync(
          conf,
          [
            `port ${port}`,
            'bind 127.0.0.1',
            `dir ${sentinelDir}`,
            `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 2`,
            `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
            `sentinel failover-timeout ${name} 10000`,
            `sentinel parallel-syncs ${name} 1`,
            '',
          ].join('\n'),
        );
        const proc = new ManagedProcess(executable, [conf, '--sentinel'], { name: `redis sentinel (port ${port})` });
        sentinels.push({ port, process: proc });
        await waitUntil(`sentinel on port ${port}`, async () => {
          if (!proc.isRunning) throw new Error(proc.describeExit(await proc.exited));
          return redisAnswers(`redis://127.0.0.1:${port}`);
        });
      }
      // A failover needs every sentinel to know the replica (in sync) and the other two sentinels.
      await waitUntil('the sentinels to know the replica and each other', () => group.settled(primaryPort), {
        timeoutMs: 60_000,
        intervalMs: 200,
      });
      return group;
    } catch (err) {
      await group.stop();
      throw err;
    }
  }

  /** Port of the primary, as every sentinel names it (undefined while they disagree). */
  async primaryPort(): Promise<number | undefined> {
    const ports = await Promise.all(
      this.sentinels.map((s) =>
        this.ask(s.port, ['SENTINEL', 'get-master-addr-by-name', this.name]).then(
          (a) => Number((a as string[])[1]),
          () => NaN,
        ),
      ),
    );
    return ports.every((p) => p === ports[0] && !Number.isNaN(p)) ? ports[0] : undefined;
  }

  /**
   * Fails the primary over to the replica (SENTINEL FAILOVER) and waits until every sentinel names the new primary,
   * the old one replicates from it, and the group could fail over again. Returns the new primary's port.
   */
  async failover(): Promise<number> {
    const before = await this.primaryPort();
    if (before === undefined) throw new Error('the sentinels disagree on the primary');
    await this.ask(this.sentinels[0].port, ['SENTINEL', 'FAILOVER', this.name]);
    let after: number | undefined;
    await waitUntil(
      'the sentinels to name a new primary',
      async () => {
        after = await this.primaryPort();
        return after !== undefined && after !== before;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    await waitUntil('the group to settle after the failover', () => this.settled(after!), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    return after!;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.sentinels, ...this.servers].map((s) => s.process.stop(5_000)));
  }

  private async settled(primaryPort: number): Promise<boolean> {
    try {
      const replica = this.servers.find((s) => s.port !== primaryPort)!;
      const info = (await this.ask(replica.port, ['INFO', 'replication'])) as string;
      if (!/master_link_status:up/.test(info) || !info.includes(`master_port:${primaryPort}`)) return false;
      for (const s of this.sentinels) {
        const master = (await this.ask(s.port, ['SENTINEL', 'get-master-addr-by-name', this.name])) as string[];
        if (Number(master[1]) !== primaryPort) return false;
        const replicas = (await this.ask(s.port, ['SENTINEL', 'replicas', this.name])) as string[][];
        const known = replicas.map((r) => Object.fromEntries(pairs(r)));
        if (
          !known.some((r) => Number(r.port) === replica.port && r.flags === 'slave' && r['master-link-status'] === 'ok')
        )
          return false;
        if (((await this.ask(s.port, ['SENTINEL', 'sentinels', this.name])) as unknown[]).length !== 2) return false;
      }
      return true;
    } catch {
      return false;
    }
  }

  private async ask(port: number, command: string[]): Promise<unknown> {
    const client = new Redis({
      host: '127.0.0.1',
      port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 2_000,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return await client.call(command[0], ...command.slice(1));
    } finally {
      client.disconnect();
    }
  }
}

function pairs(flat: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}
