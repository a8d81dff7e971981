import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/postgresql';
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from './config/app-config';
import { DbContext } from './database/db-context';
import { mikroOrmOptions } from './database/mikro-orm.config';
import { User } from './modules/accounts/entities/user.entity';
import { UsersService } from './modules/accounts/users.service';
import { MIN_PASSWORD_LENGTH } from './modules/accounts/passwords';

const USAGE = `Usage: node dist/src/cli.js create-user --email EMAIL --password PASSWORD [--name NAME] [--role admin|producer] [--if-missing]

Creates an account from the command line (for scripted installs and the demo). With --if-missing an existing
account with that email is left as it is and the command succeeds.`;

async function createUser(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string', default: 'producer' },
      'if-missing': { type: 'boolean', default: false },
    },
  });
  const email = values.email?.trim().toLowerCase();
  if (!email || !/^[^\s@]+@[^\s@]+$/.test(email)) return fail('--email must be an email address');
  if (!values.password || values.password.length < MIN_PASSWORD_LENGTH) {
    return fail(`--password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (values.role !== 'admin' && values.role !== 'producer') return fail('--role must be admin or producer');
  const { password, role } = values;

  const config = loadConfigOrExit();
  const orm = await MikroORM.init(mikroOrmOptions(config.database.url, { poolMax: 1 }));
  const db = new DbContext(orm);
  try {
    return await db.run(async () => {
      const users = orm.em.getRepository(User);
      if (await users.findOne({ email })) {
        if (values['if-missing']) {
          process.stdout.write(`exists: ${email}\n`);
          return 0;
        }
        return fail(`an account with email ${email} already exists`);
      }
      await new UsersService(users, db).create({
        email,
        password,
        name: values.name ?? email,
        role,
      });
      process.stdout.write(`created: ${email} (${role})\n`);
      return 0;
    });
  } finally {
    await orm.close(true);
  }
}

function fail(message: string): number {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  return 2;
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  switch (command) {
    case 'create-user':
      process.exitCode = await createUser(rest);
      return;
    default:
      process.stderr.write(`${USAGE}\n`);
      process.exitCode = command ? 2 : 0;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
