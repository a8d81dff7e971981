import { Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { randomUUID } from 'node:crypto';

/** A producer's webhook: where events of the chosen types are POSTed, signed with a secret kept sealed. */
@Entity({ tableName: 'webhooks' })
export class Webhook {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid', index: true })
  ownerId: string;

  @Property({ type: 'text' })
  url: string;

  @Property({ type: 'text[]' })
  events: string[];

  /** The signing secret sealed with SecretBox (associated data `webhook:<id>`); shown in clear once, at creation. */
  @Property({ type: 'text', hidden: true, lazy: true })
  secretSealed: string;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();
}
