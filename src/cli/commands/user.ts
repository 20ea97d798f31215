import { unixTime, systemClock } from '../../config/clock.js';
import type { UserEntity } from '../../entities/index.js';
import { createUser, fundUser } from '../../services/users.js';
import { parseOptions, required, wholeNumber } from '../args.js';
import type { CommandGroup } from './command.js';

const usage = {
  create: 'admin user create --username U --email E --password P [--firstname F] [--lastname L] [--means CENTS]',
  fund: 'admin user fund --username U --cents N',
};

/** What the CLI prints for a user (never the password hash). `means` is the balance in cents. */
export function userRecord(user: UserEntity) {
  return {
    username: user.username,
    email: user.email,
    firstname: user.firstname,
    lastname: user.lastname,
    means: user.balanceCents,
    registered_at: unixTime(user.registeredAt),
  };
}

export const userCommands: CommandGroup = {
  name: 'user',
  usage,
  async run(action, args, withDatabase) {
    if (action === 'create') {
      const values = parseOptions(
        args,
        {
          username: { type: 'string' },
          email: { type: 'string' },
          password: { type: 'string' },
          firstname: { type: 'string' },
          lastname: { type: 'string' },
          means: { type: 'string' },
        },
        usage.create,
      );
      const input = {
        username: required(values.username, 'username', usage.create),
        email: required(values.email, 'email', usage.create),
        password: required(values.password, 'password', usage.create),
        firstname: values.firstname,
        lastname: values.lastname,
        balanceCents: values.means === undefined ? undefined : wholeNumber(values.means),
      };
      return withDatabase(async (em) => userRecord(await createUser(em, systemClock, input)));
    }
    if (action === 'fund') {
      const values = parseOptions(args, { username: { type: 'string' }, cents: { type: 'string' } }, usage.fund);
      const username = required(values.username, 'username', usage.fund);
      const cents = wholeNumber(required(values.cents, 'cents', usage.fund));
      return withDatabase(async (em) => userRecord(await fundUser(em, username, cents)));
    }
    throw new Error(`unreachable action ${action}`);
  },
};
