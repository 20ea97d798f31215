import { Type, type Platform, type TransformContext } from '@mikro-orm/core';

/**
 * A PostgreSQL `text[]` column whose elements are always written as quoted array-literal elements (backslash before
 * `"` and `\`). MikroORM's ArrayType (PostgreSqlPlatform.marshallArray) leaves `NULL` unquoted, which PostgreSQL
 * stores as an SQL NULL element (a tag "null" broke every list and search containing its thing with a 500), and
 * quotes other elements with JSON escapes, which PostgreSQL does not read (`\u0001` was stored as `u0001`).
 */
export class TextArrayType extends Type<string[] | null, string | null> {
  override convertToDatabaseValue(value: string[] | null, _platform: Platform, context?: TransformContext): string | null {
    if (value === null || value === undefined) return value as null;
    if (!Array.isArray(value)) {
      if (context?.fromQuery) return value;
      throw new Error('TextArrayType: not an array');
    }
    return `{${value.map((element) => `"${String(element).replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
  }

  override convertToJSValue(value: string | null, platform: Platform): string[] | null {
    if (value === null || value === undefined) return value as null;
    return typeof value === 'string' ? (platform.unmarshallArray(value) as string[]) : (value as unknown as string[]);
  }

  override compareAsType(): string {
    return 'string[]';
  }

  override toJSON(value: string[] | null): string[] | null {
    return value;
  }

  override getColumnType(): string {
    return 'text[]';
  }
}
