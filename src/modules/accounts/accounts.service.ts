import { Injectable } from '@nestjs/common';
import { SessionsService } from './sessions.service';
import { toUserView, UsersService, UserView } from './users.service';
import type { UserRole } from './entities/user.entity';

/** Account administration use cases (what the admin pages, the API and the CLI call). */
@Injectable()
export class AccountsService {
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

  /** Disabling ends every session of the account at once; its tokens stop working on the next request. */
  async setDisabled(actorId: string, userId: string, disabled: boolean): Promise<UserView> {
    const user = await this.users.setDisabled(actorId, userId, disabled);
    if (disabled) await this.sessions.endAllSessionsOf(user.id);
    return toUserView(user);
  }
}
