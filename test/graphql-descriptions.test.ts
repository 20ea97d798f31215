import { describe, expect, it } from 'vitest';
import { isEnumType, isInputObjectType, isInterfaceType, isObjectType, isSpecifiedScalarType } from 'graphql';
import { schema } from '../schema/index.js';

/**
 * Every type, field, argument and enum value of the schema has a description written for GraphQL users, without
 * internal references (section signs, D/E numbers of the specification, "spec ...").
 */
const INTERNAL = /§|\bD\d{2}\b|\bE\d{1,2}\b|[Ss]pec /;

function problems(): string[] {
  const found: string[] = [];
  const check = (path: string, description: string | null | undefined) => {
    if (!description || description.trim() === '') found.push(`${path}: no description`);
    else if (INTERNAL.test(description)) found.push(`${path}: internal reference in ${JSON.stringify(description)}`);
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || isSpecifiedScalarType(type)) continue;
    check(type.name, type.description);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        check(`${type.name}.${field.name}`, field.description);
        for (const arg of field.args) check(`${type.name}.${field.name}(${arg.name})`, arg.description);
      }
    }
    if (isInputObjectType(type)) for (const field of Object.values(type.getFields())) check(`${type.name}.${field.name}`, field.description);
    if (isEnumType(type)) for (const value of type.getValues()) check(`${type.name}.${value.name}`, value.description);
  }
  return found;
}

describe('schema descriptions', () => {
  it('describes every type, field, argument and enum value, without internal references', () => {
    expect(problems()).toEqual([]);
  });

  it('has the live Subscription root of issue 20 (the domain type stays ThingSubscription)', () => {
    expect(Object.keys(schema.getSubscriptionType()!.getFields())).toEqual(['flattrCreated', 'thingChanged', 'statsTotals']);
    expect(schema.getType('ThingSubscription')).toBeDefined();
  });
});
