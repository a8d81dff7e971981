import { BigIntType, EntityRepositoryType, Opt } from '@mikro-orm/core';
import { Entity, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { ShareRecipientRepository } from '../repositories/share-recipient.repository';
import { randomUUID } from 'node:crypto';
import { Share } from './share.entity';

/**
 * A named recipient of a share with a link of their own: the share's contents and permissions, but its own token
 * (so a leaked link says to whom it was given), its own revoke and optionally its own expiry, and its own counters.
 */
@Entity({ tableName: 'share_recipients', repository: () => ShareRecipientRepository })
@Index({ properties: ['share', 'createdAt'] })
export class ShareRecipient {
  [EntityRepositoryType]?: ShareRecipientRepository;

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Share, { deleteRule: 'cascade' })
  share: Share;

  @Property({ type: 'string', length: 200 })
  name: string;

  @Property({ type: 'string', length: 320, nullable: true })
  email?: string | null;

  @Property({ type: 'text', nullable: true })
  note?: string | null;

  /** SHA-256 (hex) of the recipient's token, as for share links. */
  @Property({ type: 'string', length: 64, unique: true })
  tokenHash: string;

  /** The token sealed with ENCRYPTION_KEY, bound to this row, so the producer can copy the link again. */
  @Property({ type: 'text', hidden: true })
  tokenSealed: string;

  /** NULL: as long as the share lives. The share's own expiry applies too. */
  @Property({ type: 'datetime', nullable: true })
  expiresAt?: Date | null;

  @Property({ type: 'datetime', nullable: true })
  revokedAt?: Date | null;

  // Counters, flushed in batches from Redis (see ShareStatsService).
  @Property({ type: new BigIntType('number') })
  views: number & Opt = 0;

  @Property({ type: new BigIntType('number') })
  plays: number & Opt = 0;

  @Property({ type: 'double' })
  listenedSeconds: number & Opt = 0;

  @Property({ type: new BigIntType('number') })
  downloadsBounce: number & Opt = 0;

  @Property({ type: new BigIntType('number') })
  downloadsProject: number & Opt = 0;

  @Property({ type: new BigIntType('number') })
  downloadsStem: number & Opt = 0;

  @Property({ type: 'datetime', nullable: true })
  lastAccessedAt?: Date | null;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();
}
