import { unixTime, systemClock } from '../../config/clock.js';
import { loadConfig } from '../../config/config.js';
import type { ThingEntity } from '../../entities/index.js';
import { DomainError, NOT_FOUND_USER } from '../../services/domain-error.js';
import { createThing } from '../../services/things.js';
import { findUserByUsername } from '../../services/users.js';
import { parseOptions, required } from '../args.js';
import type { CommandGroup } from './command.js';

const usage = {
  create:
    'admin thing create --owner U --url URL [--title T] [--description D] [--category C] [--language L] [--tags a,b] [--hidden]',
};

/** What the CLI prints for a thing; `owner` is the owner's username, times are unixtime. */
export function thingRecord(thing: ThingEntity, ownerUsername: string) {
  return {
    id: thing.id,
    url: thing.url,
    title: thing.title,
    description: thing.description,
    category: thing.category.id,
    language: thing.language.id,
    tags: thing.tags,
    hidden: thing.hidden,
    owner: ownerUsername,
    created_at: unixTime(thing.createdAt),
  };
}

export const thingCommands: CommandGroup = {
  name: 'thing',
  usage,
  async run(action, args, withDatabase) {
    if (action === 'create') {
      const values = parseOptions(
        args,
        {
          owner: { type: 'string' },
          url: { type: 'string' },
          title: { type: 'string' },
          description: { type: 'string' },
          category: { type: 'string' },
          language: { type: 'string' },
          tags: { type: 'string' },
          hidden: { type: 'boolean' },
        },
        usage.create,
      );
      const owner = required(values.owner, 'owner', usage.create);
      const url = required(values.url, 'url', usage.create);
      return withDatabase(async (em) => {
        const user = await findUserByUsername(em, owner);
        if (!user) throw new DomainError('not_found', NOT_FOUND_USER);
        const thing = await createThing(em, systemClock, user.id, {
          url,
          title: values.title,
          description: values.description,
          category: values.category,
          language: values.language,
          tags: values.tags,
          hidden: values.hidden ?? false,
        }, { siteUrl: loadConfig().siteUrl });
        return thingRecord(thing, user.username);
      });
    }
    throw new Error(`unreachable action ${action}`);
  },
};
