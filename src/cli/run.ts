import { ConfigError } from '../config/config.js';
import { DomainError } from '../services/domain-error.js';
import { UsageError } from './cli-error.js';
import type { WithDatabase } from './database.js';
import type { CommandGroup } from './commands/command.js';
import { thingCommands } from './commands/thing.js';
import { userCommands } from './commands/user.js';
import { appCommands } from './commands/app.js';
import { tokenCommands } from './commands/token.js';
import { periodCommands } from './commands/period.js';
import { jobCommands } from './commands/job.js';

const groups: CommandGroup[] = [userCommands, thingCommands, appCommands, tokenCommands, periodCommands, jobCommands];

export function usageLines(): string[] {
  return groups.flatMap((group) => Object.values(group.usage));
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Any message on one line (PostgreSQL start-up errors carry their log tail on several). */
function oneLine(text: string): string {
  // Not `replace(/\s*\n\s*/g, ' ')`: that pattern backtracks quadratically over a long run of spaces (issue 14).
  return text
    .split('\n')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .join(' ');
}

/**
 * `admin <group> <action> [--flags]`: one JSON object (the created or changed record) on stdout, or a
 * one-line message on stderr: exit 2 for a bad command line, 1 for anything else.
 */
export async function runAdmin(argv: string[], withDatabase: WithDatabase): Promise<CliResult> {
  const [groupName, action, ...args] = argv;
  if (groupName === '--help' || groupName === '-h' || groupName === 'help') {
    return { code: 0, stdout: `Usage:\n${usageLines().map((line) => `  ${line}`).join('\n')}\n`, stderr: '' };
  }
  try {
    const group = groups.find((g) => g.name === groupName);
    if (!group || action === undefined || !Object.hasOwn(group.usage, action)) {
      const what = groupName === undefined ? 'No command given' : `Unknown command "${[groupName, action].filter(Boolean).join(' ')}"`;
      throw new UsageError(what, (group ? Object.values(group.usage) : usageLines()).join(' | '));
    }
    const record = await group.run(action, args, withDatabase);
    return { code: 0, stdout: `${JSON.stringify(record)}\n`, stderr: '' };
  } catch (error) {
    if (error instanceof UsageError) {
      return { code: 2, stdout: '', stderr: `${oneLine(error.message)}. Usage: ${error.usage}\n` };
    }
    if (error instanceof ConfigError) return { code: 2, stdout: '', stderr: `Configuration error: ${oneLine(error.message)}\n` };
    if (error instanceof DomainError) return { code: 1, stdout: '', stderr: `${oneLine(error.message)}\n` };
    const message = error instanceof Error ? error.message : String(error);
    return { code: 1, stdout: '', stderr: `Error: ${oneLine(message)}\n` };
  }
}
