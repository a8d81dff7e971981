import { Opt } from '@mikro-orm/core';
import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { randomUUID } from 'node:crypto';

/**
 * A comment at a time of one file of a share, or the producer's reply to one (`parentId`). Shown as text only.
 * Who wrote it: the producer (`fromOwner`), a recipient of a per-recipient link (`recipientId`), or an anonymous
 * visitor of the share's own link, recognised again by the hash of a cookie of theirs (`visitorHash`).
 */
@Entity({ tableName: 'share_comments' })
@Index({ properties: ['shareId', 'createdAt'] })
export class ShareComment {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid' })
  shareId: string;

  @Property({ type: 'uuid' })
  fileId: string;

  /** Set on a reply: the comment it answers (replies keep its file and time). */
  @Property({ type: 'uuid', nullable: true, index: true })
  parentId: string | null = null;

  @Property({ type: 'double' })
  atSeconds: number;

  @Property({ type: 'text' })
  body: string;

  @Property({ type: 'string', length: 100 })
  authorName: string;

  @Property({ type: 'boolean' })
  fromOwner: boolean & Opt = false;

  /** The recipient whose own link was used (per-recipient links); null on the share's own link. */
  @Property({ type: 'uuid', nullable: true })
  recipientId: string | null = null;

  /** SHA-256 (hex) of the visitor cookie of the one who wrote it, on the share's own link. */
  @Property({ type: 'string', length: 64, nullable: true, hidden: true })
  visitorHash: string | null = null;

  @Property({ type: 'datetime', nullable: true })
  resolvedAt: Date | null = null;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();
}
