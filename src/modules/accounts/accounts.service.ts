import { Injectable } from '@nestjs/common';
import { SessionsService } from './sessions.service';
import { toUserView, UsersService, UserView } from './users.service';
import type { UserRole } from './entities/user.entity';

/** Account administration use cases (what the admin pages, the API and the CLI call). */
/** Told after an account was disabled or enabled (share links follow their producer's account). */
export type AccountStatusListener = (userId: string, disabled: boolean) => Promise<void>;

@Injectable()
export class AccountsService {
  private readonly statusListeners: AccountStatusListener[] = [];

  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
  ) {}

  async listUsers(): Promise<UserView[]> {
    return (await this.users.list()).map(toUserView);
  }

  async createUser(input: { email: string; name: string; password: string; role: UserRole }): Promise<UserView> {
    return toUserView(await this.users.create(input));
  }

  /** Modules that follow an account's status register here (this module imports none of them). */
  onStatusChange(listener: AccountStatusListener): void {
    this.statusListeners.push(listener);
  }

  /**
   * Disabling ends every session of the account at once; its tokens stop working on the next request, and its
   * share links answer 410 (listeners); enabling restores the links.
   */
  async setDisabled(actorId: string, userId: string, disabled: boolean): Promise<UserView> {
    const user = await this.users.setDisabled(actorId, userId, disabled);
    if (disabled) await this.sessions.endAllSessionsOf(user.id);
    for (const listener of this.statusListeners) await listener(user.id, disabled);
    return toUserView(user);
  }
}
