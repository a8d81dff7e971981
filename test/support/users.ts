import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { randomBytes } from 'node:crypto';
import { AccountsService } from '../../src/modules/accounts/accounts.service';
import type { TestApp, WebClient } from './app';

export interface TestUser {
  id: string;
  email: string;
  password: string;
  browser: WebClient;
}

/** A producer (or admin) created through the real service and signed in with a browser-like client. */
export async function signedInUser(t: TestApp, role: 'producer' | 'admin' = 'producer'): Promise<TestUser> {
  const email = `${role}-${randomBytes(4).toString('hex')}@studio.test`;
  const password = 'a long enough password';
  const orm = t.app.get(MikroORM);
  const created = await RequestContext.create(orm.em, () =>
    t.app.get(AccountsService).createUser({ email, password, name: email.split('@')[0], role }),
  );
  const browser = t.client();
  const res = await browser.signIn(email, password);
  if (res.status !== 303) throw new Error(`sign-in failed: ${res.status}`);
  return { id: created.id, email, password, browser };
}
