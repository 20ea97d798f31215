/** A command line the CLI cannot run (unknown flag, missing option): exit 2 with a usage line. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    /** The usage line of the command concerned. */
    readonly usage: string,
  ) {
    super(message);
  }
}
