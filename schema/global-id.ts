import { badUserInput } from './errors.js';

/**
 * Global ids (Relay object identification): base64 of `Type:key`, the key being the database key of the object —
 * `User:<id>`, `Thing:<id>`, `Flattr:<id>`, `ThingSubscription:<userId>:<thingId>`, `Activity:like:<flattrId>` or
 * `Activity:post:<thingId>`. Clients treat them as opaque.
 */

/** The node types and the shape of their keys. */
export const NODE_KEYS = {
  User: ['int'],
  Thing: ['int'],
  Flattr: ['int'],
  ThingSubscription: ['int', 'int'],
  Activity: [['like', 'post'], 'int'],
} as const satisfies Record<string, readonly ('int' | readonly string[])[]>;

export type NodeTypeName = keyof typeof NODE_KEYS;

export interface DecodedGlobalId {
  typename: NodeTypeName;
  /** The key parts: numbers for `int` parts (0 for one past the database's integer range, which no row has). */
  keys: (number | string)[];
}

const MAX_INT = 2_147_483_647;
const DIGITS = /^[0-9]{1,20}$/;

export function encodeGlobalId(typename: NodeTypeName, ...keys: (number | string)[]): string {
  return Buffer.from(`${typename}:${keys.join(':')}`).toString('base64');
}

function malformed(value: string, argument: string): never {
  throw badUserInput(`Invalid global id ${JSON.stringify(value.slice(0, 100))}: use the id field of an object`, argument);
}

/** Decodes a global id; a malformed one, or one of an unknown type, is BAD_USER_INPUT naming `argument`. */
export function decodeGlobalId(value: string, argument: string): DecodedGlobalId {
  if (value.length === 0 || value.length > 200 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) malformed(value, argument);
  const text = Buffer.from(value, 'base64').toString('utf8');
  // Only the canonical encoding of a text is accepted, so one object has one id.
  if (Buffer.from(text).toString('base64') !== value) malformed(value, argument);
  const [typename, ...parts] = text.split(':');
  if (!typename || !Object.hasOwn(NODE_KEYS, typename)) {
    throw badUserInput(`Invalid global id: unknown type ${JSON.stringify((typename ?? '').slice(0, 50))}`, argument);
  }
  const shape = NODE_KEYS[typename as NodeTypeName] as readonly ('int' | readonly string[])[];
  if (parts.length !== shape.length) malformed(value, argument);
  const keys = parts.map((part, i) => {
    const kind = shape[i]!;
    if (kind === 'int') {
      if (!DIGITS.test(part)) malformed(value, argument);
      const n = Number(part);
      return n <= MAX_INT ? n : 0;
    }
    if (!kind.includes(part)) malformed(value, argument);
    return part;
  });
  return { typename: typename as NodeTypeName, keys };
}

/** The database id in a global id that must name an object of `typename` (a mutation's id argument). */
export function databaseIdOf(value: string, typename: 'Thing' | 'User' | 'Flattr', argument: string): number {
  const decoded = decodeGlobalId(value, argument);
  if (decoded.typename !== typename) {
    throw badUserInput(`"${argument}" must be the id of a ${typename}, not of a ${decoded.typename}`, argument);
  }
  return decoded.keys[0] as number;
}
