import { InjectRepository } from '@mikro-orm/nestjs';
import { EntityRepository } from '@mikro-orm/postgresql';
import { Injectable, NotFoundException } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { DbContext } from '../../database/db-context';
import { ApiToken, TokenScope } from './entities/api-token.entity';
import type { User } from './entities/user.entity';

const TOKEN_PREFIX = 'pdat_';

export interface ApiTokenView {
  id: string;
  name: string;
  prefix: string;
  scope: TokenScope;
  expiresAt: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

/** Who a bearer secret speaks for, and how far. */
export interface TokenHolder {
  user: User;
  scope: TokenScope;
}

function toView(token: ApiToken): ApiTokenView {
  return {
    id: token.id,
    name: token.name,
    prefix: token.prefix,
    scope: token.scope,
    expiresAt: token.expiresAt?.toISOString() ?? null,
    createdAt: token.createdAt.toISOString(),
    lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
  };
}

function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

@Injectable()
export class ApiTokensService {
  constructor(
    @InjectRepository(ApiToken) private readonly tokens: EntityRepository<ApiToken>,
    private readonly db: DbContext,
  ) {}

  /** Returns the secret once; only its hash is kept. */
  async create(
    userId: string,
    name: string,
    options: { scope?: TokenScope; expiresInDays?: number } = {},
  ): Promise<{ token: ApiTokenView; secret: string }> {
    const secret = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const token = this.tokens.create({
      user: userId,
      name: name.trim(),
      tokenHash: digest(secret),
      prefix: secret.slice(0, TOKEN_PREFIX.length + 6),
      scope: options.scope ?? 'full',
      expiresAt: options.expiresInDays ? new Date(Date.now() + options.expiresInDays * 24 * 3600_000) : null,
    });
    await this.db.flush();
    return { token: toView(token), secret };
  }

  async list(userId: string): Promise<ApiTokenView[]> {
    const tokens = await this.tokens.find({ user: userId }, { orderBy: { createdAt: 'desc' } });
    return tokens.map(toView);
  }

  async revoke(userId: string, tokenId: string): Promise<void> {
    const deleted = await this.tokens.nativeDelete({ id: tokenId, user: userId });
    if (deleted === 0) throw new NotFoundException('token not found');
  }

  /** The enabled user a bearer secret belongs to, with the token's scope, or null (unknown, expired, disabled). */
  async authenticate(secret: string): Promise<TokenHolder | null> {
    if (!secret.startsWith(TOKEN_PREFIX)) return null;
    const token = await this.tokens.findOne({ tokenHash: digest(secret) }, { populate: ['user'] });
    if (!token || token.user.disabled) return null;
    if (token.expiresAt && token.expiresAt.getTime() <= Date.now()) return null;
    // Coarse on purpose: one write per token per minute at most.
    if (!token.lastUsedAt || Date.now() - token.lastUsedAt.getTime() > 60_000) {
      await this.tokens.nativeUpdate({ id: token.id }, { lastUsedAt: new Date() });
    }
    return { user: token.user, scope: token.scope };
  }
}
