import { Injectable } from '@nestjs/common';
import { tryRedisLock } from '../../common/redis/redis-lock';
import { RedisService } from '../../common/redis/redis.module';
import { DropboxAccountClient } from './dropbox.gateway';
import type { TemporaryLink } from './dropbox.types';

/** Dropbox's links live 4 h; serving one for 3.5 h leaves every listener half an hour to finish. */
export const LINK_CACHE_TTL_MS = 3.5 * 3600_000;
const FILL_LOCK_TTL_MS = 15_000;
const FILL_WAIT_MS = 15_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Temporary links cached in Redis per file revision, so a new revision gets a new link, and filled
 * single-flight: concurrent requests for one file make one Dropbox call, from any number of processes.
 */
@Injectable()
export class TemporaryLinksService {
  constructor(private readonly redis: RedisService) {}

  private key(accountId: string, fileId: string, rev: string): string {
    return this.redis.key('dbx', 'link', accountId, fileId, rev);
  }

  async link(client: DropboxAccountClient, file: { id: string; rev: string }): Promise<TemporaryLink> {
    const key = this.key(client.accountId, file.id, file.rev);
    const deadline = Date.now() + FILL_WAIT_MS;
    for (;;) {
      const cached = await this.redis.client.get(key);
      if (cached) return JSON.parse(cached) as TemporaryLink;

      const release = await tryRedisLock(this.redis.client, `${key}:fill`, FILL_LOCK_TTL_MS);
      if (release) {
        try {
          const again = await this.redis.client.get(key);
          if (again) return JSON.parse(again) as TemporaryLink;
          const fresh = await client.temporaryLink(file.id);
          const value = JSON.stringify(fresh);
          // Cached under the revision Dropbox actually served, which is the live one.
          const servedKey = this.key(client.accountId, file.id, fresh.entry.rev ?? file.rev);
          const pipeline = this.redis.client.multi().set(servedKey, value, 'PX', LINK_CACHE_TTL_MS);
          if (servedKey !== key) pipeline.set(key, value, 'PX', LINK_CACHE_TTL_MS);
          await pipeline.exec();
          return fresh;
        } finally {
          await release();
        }
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for a temporary link of ${file.id}`);
      await sleep(10 + Math.random() * 10);
    }
  }
}
