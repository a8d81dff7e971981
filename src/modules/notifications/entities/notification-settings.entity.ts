import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';

/** A producer's email switches: the event types they do not want mailed (all are mailed by default). */
@Entity({ tableName: 'notification_settings' })
export class NotificationSettings {
  @PrimaryKey({ type: 'uuid' })
  ownerId: string;

  @Property({ type: 'text[]' })
  emailOff: string[] = [];
}
