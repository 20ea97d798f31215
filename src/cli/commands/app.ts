import { systemClock } from '../../config/clock.js';
import { DomainError, NOT_FOUND_USER } from '../../services/domain-error.js';
import { createClient, type TokenFormat } from '../../services/oauth-clients.js';
import { findUserByUsername } from '../../services/users.js';
import { UsageError } from '../cli-error.js';
import { parseOptions, required } from '../args.js';
import type { CommandGroup } from './command.js';

const usage = {
  create: 'admin app create --owner U --name N --redirect-uri URI [--redirect-uri URI2] [--description D] [--token-format opaque|jwt]',
};

export const appCommands: CommandGroup = {
  name: 'app',
  usage,
  async run(action, args, withDatabase) {
    if (action === 'create') {
      const values = parseOptions(
        args,
        {
          owner: { type: 'string' },
          name: { type: 'string' },
          description: { type: 'string' },
          'redirect-uri': { type: 'string', multiple: true },
          'token-format': { type: 'string' },
        },
        usage.create,
      );
      const owner = required(values.owner, 'owner', usage.create);
      const name = required(values.name, 'name', usage.create);
      const redirectUris = values['redirect-uri'] ?? [];
      if (redirectUris.length === 0) throw new UsageError('Missing required option --redirect-uri', usage.create);
      const tokenFormat = values['token-format'] ?? 'opaque';
      if (tokenFormat !== 'opaque' && tokenFormat !== 'jwt') throw new UsageError('--token-format must be opaque or jwt', usage.create);
      return withDatabase(async (em) => {
        const user = await findUserByUsername(em, owner);
        if (!user) throw new DomainError('not_found', NOT_FOUND_USER);
        const { client, clientSecret } = await createClient(em, systemClock, {
          ownerId: user.id,
          name,
          description: values.description,
          callbackUrls: redirectUris,
          tokenFormat: tokenFormat as TokenFormat,
        });
        return {
          client_id: client.clientId,
          client_secret: clientSecret,
          name: client.name,
          redirect_uris: client.callbackUrls,
          token_format: client.tokenFormat,
          owner: user.username,
        };
      });
    }
    throw new Error(`unreachable action ${action}`);
  },
};
