import { BigIntType, EntityRepositoryType, Opt } from '@mikro-orm/core';
import { Entity, Enum, OneToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { randomUUID } from 'node:crypto';
import { User } from '../../accounts/entities/user.entity';
import { DropboxConnectionRepository } from '../repositories/dropbox-connection.repository';

export type DropboxConnectionStatus = 'active' | 'expired';

/**
 * A producer's link to their Dropbox. Tokens are sealed with AES-256-GCM (common/crypto/secret-box) and
 * bound to this row's id, so a sealed value copied to another row does not open.
 */
@Entity({ tableName: 'dropbox_connections', repository: () => DropboxConnectionRepository })
export class DropboxConnection {
  [EntityRepositoryType]?: DropboxConnectionRepository;

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @OneToOne(() => User, { owner: true, unique: true, deleteRule: 'cascade' })
  user: User;

  @Property({ type: 'string', length: 64 })
  accountId: string;

  @Property({ type: 'string', length: 320 })
  email: string;

  @Property({ type: 'string', length: 255 })
  displayName: string;

  @Property({ type: 'text', hidden: true })
  refreshTokenSealed: string;

  @Property({ type: 'text', nullable: true, hidden: true })
  accessTokenSealed?: string | null;

  @Property({ type: 'datetime', nullable: true })
  accessTokenExpiresAt?: Date | null;

  @Enum({ items: ['active', 'expired'], type: 'string' })
  status: DropboxConnectionStatus & Opt = 'active';

  /** Why Dropbox stopped accepting the connection, in its own words (an error tag). */
  @Property({ type: 'string', length: 255, nullable: true })
  statusReason?: string | null;

  @Property({ type: 'string', length: 1024 })
  scopes: string;

  @Property({ type: 'datetime' })
  connectedAt: Date & Opt = new Date();

  @Property({ type: 'datetime', nullable: true })
  lastRefreshedAt?: Date | null;

  /** When Dropbox last refused a link or a share because the account's email is not verified; cleared by a re-check. */
  @Property({ type: 'datetime', nullable: true })
  emailUnverifiedAt?: Date | null;

  /** When Dropbox last refused a write because the account is full; cleared by the next write that succeeds. */
  @Property({ type: 'datetime', nullable: true })
  storageFullAt?: Date | null;

  /** `users/get_space_usage` as read when the account was found full. */
  @Property({ type: new BigIntType('number'), nullable: true })
  spaceUsedBytes?: number | null;

  @Property({ type: new BigIntType('number'), nullable: true })
  spaceAllocatedBytes?: number | null;
}
