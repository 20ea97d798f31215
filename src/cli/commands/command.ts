import type { WithDatabase } from '../database.js';

/** One command group of the admin CLI (`admin <group> <action> --flags`). */
export interface CommandGroup {
  name: string;
  /** One usage line per action. */
  usage: Record<string, string>;
  /** Runs the action and returns the record to print as JSON. */
  run(action: string, args: string[], withDatabase: WithDatabase): Promise<object>;
}
