import { EntityRepositoryType, Opt } from '@mikro-orm/core';
import { Entity, Enum, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { randomUUID } from 'node:crypto';
import type { UserRole } from '../../../common/authenticated-user';
import { UserRepository } from '../repositories/user.repository';

export type { UserRole };

@Entity({ tableName: 'users', repository: () => UserRepository })
export class User {
  [EntityRepositoryType]?: UserRepository;

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** Stored lower-cased so sign-in and uniqueness ignore case. */
  @Property({ type: 'string', length: 320, unique: true })
  email: string;

  @Property({ type: 'string', length: 120 })
  name: string;

  @Property({ type: 'string', length: 255, hidden: true, lazy: true })
  passwordHash: string;

  @Enum({ items: ['admin', 'producer'], type: 'string' })
  role: UserRole = 'producer';

  @Property({ type: 'boolean' })
  disabled: boolean & Opt = false;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
