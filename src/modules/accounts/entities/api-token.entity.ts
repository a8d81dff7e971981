import { Opt } from '@mikro-orm/core';
import { Entity, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { randomUUID } from 'node:crypto';
import { User } from './user.entity';

/** `read`: GET/HEAD only; `full`: everything the producer can do through the API except making more tokens. */
export const TOKEN_SCOPES = ['read', 'full'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** A personal access token: only its SHA-256 is stored, the secret is shown once. */
@Entity({ tableName: 'api_tokens' })
export class ApiToken {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  user: User;

  @Property({ type: 'string', length: 80 })
  name: string;

  @Property({ type: 'string', length: 64, unique: true, hidden: true })
  tokenHash: string;

  /** The first characters of the secret, so a producer can tell tokens apart. */
  @Property({ type: 'string', length: 16 })
  prefix: string;

  @Property({ type: 'string', length: 8 })
  scope: TokenScope & Opt = 'full';

  /** NULL: never expires. */
  @Property({ type: 'datetime', nullable: true })
  expiresAt?: Date | null;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', nullable: true })
  lastUsedAt?: Date;
}
