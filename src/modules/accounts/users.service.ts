import { UniqueConstraintViolationException } from '@mikro-orm/postgresql';
import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { DbContext } from '../../database/db-context';
import { User, UserRole } from './entities/user.entity';
import { hashPassword, timingDecoyHash, verifyPassword } from './passwords';
import { UserRepository } from './repositories/user.repository';

export interface UserView {
  id: string;
  email: string;
  name: string;
  role: UserRole;
  disabled: boolean;
  createdAt: string;
}

export function toUserView(user: User): UserView {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    disabled: user.disabled,
    createdAt: user.createdAt.toISOString(),
  };
}

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UserRepository,
    private readonly db: DbContext,
  ) {}

  count(): Promise<number> {
    return this.users.count({});
  }

  async create(input: { email: string; name: string; password: string; role: UserRole }): Promise<User> {
    const user = this.users.create({
      email: input.email.trim().toLowerCase(),
      name: input.name.trim(),
      passwordHash: await hashPassword(input.password),
      role: input.role,
    });
    try {
      await this.db.flush();
    } catch (err) {
      this.db.clear();
      if (err instanceof UniqueConstraintViolationException) {
        throw new ConflictException({ field: 'email', message: 'email is already used by another account' });
      }
      throw err;
    }
    return user;
  }

  /**
   * Creates the first admin only while no user exists. A transaction-level advisory lock makes two
   * concurrent setup submissions produce one admin, not two.
   */
  async createFirstAdmin(input: { email: string; name: string; password: string }): Promise<User | null> {
    const passwordHash = await hashPassword(input.password);
    return this.db.transaction(async () => {
      await this.users.lockFirstRunSetup();
      if ((await this.users.count({})) > 0) return null;
      return this.users.create({
        email: input.email.trim().toLowerCase(),
        name: input.name.trim(),
        passwordHash,
        role: 'admin',
      });
    });
  }

  findActiveById(id: string): Promise<User | null> {
    return this.users.findOne({ id, disabled: false });
  }

  /** Returns the user only for the right password of an enabled account; the same work is done either way. */
  async verifyCredentials(email: string, password: string): Promise<User | null> {
    const user = await this.users.findOne({ email: email.trim().toLowerCase() }, { populate: ['passwordHash'] });
    if (!user) {
      await verifyPassword(await timingDecoyHash(), password);
      return null;
    }
    const ok = await verifyPassword(user.passwordHash, password);
    return ok && !user.disabled ? user : null;
  }

  list(): Promise<User[]> {
    return this.users.findAll({ orderBy: { role: 'asc', createdAt: 'asc' } });
  }

  /** The ids of disabled accounts only (sweeps skip their owners; no user row needs loading for that). */
  async disabledIds(): Promise<string[]> {
    const rows = await this.users.find({ disabled: true }, { fields: ['id'] });
    return rows.map((u) => u.id);
  }

  async setDisabled(actorId: string, userId: string, disabled: boolean): Promise<User> {
    const user = await this.users.findOne({ id: userId });
    if (!user) throw new NotFoundException('user not found');
    if (user.id === actorId && disabled) {
      throw new ConflictException({ field: 'id', message: 'you cannot disable your own account' });
    }
    user.disabled = disabled;
    await this.db.flush();
    return user;
  }

  /** The user by id, whatever their status (the name other modules show for them); throws when there is none. */
  findByIdOrFail(id: string): Promise<User> {
    return this.users.findOneOrFail({ id });
  }
}
