import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './cli-error.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Strict parseArgs (unknown flags, stray arguments and missing values are usage errors). */
export function parseOptions<O extends Options>(args: string[], options: O, usage: string) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), usage);
  }
}

export function required(value: string | undefined, flag: string, usage: string): string {
  if (value === undefined) throw new UsageError(`Missing required option --${flag}`, usage);
  return value;
}

/** A whole number as typed (digits, optional minus); anything else becomes NaN so the service rejects it. */
export function wholeNumber(value: string): number {
  return /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
}
