import { systemClock } from '../../config/clock.js';
import { loadConfig } from '../../config/config.js';
import { jwtOptionsFor } from '../../oauth/token-format.js';
import { DomainError, NOT_FOUND_USER } from '../../services/domain-error.js';
import { findClient } from '../../services/oauth-clients.js';
import { issueAccessToken, revokeTokenByValue, SCOPES, type Scope } from '../../services/tokens.js';
import { findUserByUsername } from '../../services/users.js';
import { UsageError } from '../cli-error.js';
import { parseOptions, required } from '../args.js';
import type { CommandGroup } from './command.js';

const usage = {
  create: 'admin token create --user U --client CLIENT_ID [--scope "flattr thing email extendedread stats"]',
  revoke: 'admin token revoke --token T',
};

/** Scopes separated by spaces or commas. The CLI may also grant `stats`, which /oauth/authorize never does. */
function parseScopes(raw: string | undefined): Scope[] {
  const names = (raw ?? '')
    .split(/[\s,]+/)
    .map((s) => s.toLowerCase())
    .filter((s) => s !== '');
  for (const name of names) {
    if (!(SCOPES as readonly string[]).includes(name)) throw new UsageError(`Unknown scope "${name}" (known: ${SCOPES.join(', ')})`, usage.create);
  }
  return SCOPES.filter((s) => names.includes(s));
}

export const tokenCommands: CommandGroup = {
  name: 'token',
  usage,
  async run(action, args, withDatabase) {
    if (action === 'create') {
      const values = parseOptions(args, { user: { type: 'string' }, client: { type: 'string' }, scope: { type: 'string' } }, usage.create);
      const username = required(values.user, 'user', usage.create);
      const clientId = required(values.client, 'client', usage.create);
      const scopes = parseScopes(values.scope);
      return withDatabase(async (em) => {
        const user = await findUserByUsername(em, username);
        if (!user) throw new DomainError('not_found', NOT_FOUND_USER);
        const client = await findClient(em, clientId);
        if (!client) throw new DomainError('not_found', `Unknown client_id "${clientId}"`);
        // The client's token format applies here too: a JWT client gets an RFC 9068 JWT.
        const jwt = jwtOptionsFor(client, loadConfig());
        const accessToken = await issueAccessToken(em, systemClock, { userId: user.id, clientId: client.id, scopes, jwt });
        return { access_token: accessToken, token_type: 'bearer', scope: scopes.join(' ') };
      });
    }
    if (action === 'revoke') {
      const values = parseOptions(args, { token: { type: 'string' } }, usage.revoke);
      const token = required(values.token, 'token', usage.revoke);
      return withDatabase(async (em) => {
        const revoked = await revokeTokenByValue(em, systemClock, token);
        if (!revoked) throw new DomainError('not_found', 'Unknown access token');
        return { revoked: true, client_id: revoked.clientId, user: revoked.username, revoked_at: Math.floor(revoked.revokedAt.getTime() / 1000) };
      });
    }
    throw new Error(`unreachable action ${action}`);
  },
};
