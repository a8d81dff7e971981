import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { RedisService } from '../../common/redis/redis.module';

/** Session lifetime; each request renews it (rolling). */
export const SESSION_TTL_SECONDS = 14 * 24 * 3600;

/**
 * Sign-in and sign-out on top of express-session, plus an index of each user's sessions in Redis so that
 * disabling an account ends every session it has, everywhere, at once.
 */
@Injectable()
export class SessionsService {
  constructor(private readonly redis: RedisService) {}

  sessionKeyPrefix(): string {
    return this.redis.key('sess') + ':';
  }

  private indexKey(userId: string): string {
    return this.redis.key('user-sessions', userId);
  }

  /** A new session id at sign-in, so an id planted before sign-in (session fixation) is worthless. */
  async signIn(req: Request, userId: string): Promise<void> {
    await new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
    req.session.userId = userId;
    await new Promise<void>((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));
    await this.redis.client
      .multi()
      .sadd(this.indexKey(userId), req.sessionID)
      .expire(this.indexKey(userId), SESSION_TTL_SECONDS)
      .exec();
  }

  async signOut(req: Request): Promise<void> {
    const { userId } = req.session;
    const sid = req.sessionID;
    await new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())));
    if (userId) await this.redis.client.srem(this.indexKey(userId), sid);
  }

  async endAllSessionsOf(userId: string): Promise<void> {
    const sids = await this.redis.client.smembers(this.indexKey(userId));
    const keys = sids.map((sid) => this.sessionKeyPrefix() + sid);
    await this.redis.client.del(this.indexKey(userId), ...keys);
  }
}
