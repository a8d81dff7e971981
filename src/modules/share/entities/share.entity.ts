import { BigIntType, Collection, EntityRepositoryType, Opt } from '@mikro-orm/core';
import { Entity, Index, ManyToOne, OneToMany, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { ShareRepository } from '../repositories/share.repository';
import { randomUUID } from 'node:crypto';
import { User } from '../../accounts/entities/user.entity';
import { ShareFile } from './share-file.entity';
import { ShareTrack } from './share-track.entity';

/**
 * A share link: what a producer sends. The token in its URL is the only credential a recipient holds; everything
 * else (permissions, expiry, title, password) can change without changing the URL.
 */
@Entity({ tableName: 'shares', repository: () => ShareRepository })
@Index({ properties: ['owner', 'createdAt'] })
export class Share {
  [EntityRepositoryType]?: ShareRepository;

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  owner: User;

  /** SHA-256 (hex) of the link's token (≥128 random bits, base64url): what a link is looked up by. */
  @Property({ type: 'string', length: 64, unique: true })
  tokenHash: string;

  /** The token itself, sealed with ENCRYPTION_KEY (bound to this row), so the owner can copy the link again. */
  @Property({ type: 'text', hidden: true, nullable: true })
  tokenSealed?: string | null;

  /** Links created before tokens were sealed keep theirs here until `npm run migrate` seals them (then NULL). */
  @Property({ type: 'string', length: 64, nullable: true, hidden: true, fieldName: 'token' })
  legacyToken?: string | null;

  @Property({ type: 'string', length: 200 })
  title: string;

  @Property({ type: 'text', nullable: true })
  message?: string | null;

  /** argon2id; never leaves the server. */
  @Property({ type: 'string', length: 255, nullable: true, hidden: true })
  passwordHash?: string | null;

  /** Bumped when the password changes or is removed, so cookies from an earlier unlock stop working. */
  @Property({ type: 'integer' })
  passwordVersion: number & Opt = 0;

  @Property({ type: 'boolean' })
  downloadBounce: boolean & Opt = false;

  @Property({ type: 'boolean' })
  downloadProject: boolean & Opt = false;

  @Property({ type: 'boolean' })
  downloadStem: boolean & Opt = false;

  /** The chosen duration, so the management page can show "30 days" and renew from the same choice. */
  /** Download-enabled categories play their originals instead of the previews (off: previews, a tenth of the data). */
  @Property({ type: 'boolean' })
  streamOriginals: boolean & Opt = false;

  /** Recipients may comment at a time of a file (off by default). */
  @Property({ type: 'boolean' })
  comments: boolean & Opt = false;

  /** Every visitor sees every comment; off: each sees their own and the producer's replies to them. */
  @Property({ type: 'boolean' })
  commentsPublic: boolean & Opt = false;

  /** The expiry the producer was last told is 3 days away (once per link and expiry date). */
  @Property({ type: 'datetime', nullable: true })
  expiryWarnedFor?: Date | null;

  @Property({ type: 'string', length: 8 })
  expiry: string & Opt = 'never';

  /** NULL: never expires. */
  @Property({ type: 'datetime', nullable: true })
  expiresAt?: Date | null;

  @Property({ type: 'datetime', nullable: true })
  revokedAt?: Date | null;

  // Counters, flushed in batches from Redis (see ShareStatsService).
  @Property({ type: new BigIntType('number') })
  views: number & Opt = 0;

  @Property({ type: new BigIntType('number') })
  plays: number & Opt = 0;

  /** Seconds heard by the player (all links of the share), from listen beacons and Range estimates. */
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

  @OneToMany(() => ShareTrack, (t) => t.share, { orderBy: { position: 'asc' } })
  tracks = new Collection<ShareTrack>(this);

  @OneToMany(() => ShareFile, (f) => f.share)
  files = new Collection<ShareFile>(this);

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
