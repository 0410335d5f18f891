import fc from 'fast-check';
import { Obj } from './model.js';
import { hugeNumber, longString, nastyValue, payloadValue, prototypeKey, trickyString } from './values.js';

/** The part of JSON Schema that TypeBox emits for Heliograph's wire, REST and token schemas. */
export interface JsonSchema {
  type?: string;
  const?: unknown;
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  patternProperties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  minProperties?: number;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
}

/** Run-time values for fields that name things (`to`, `room`, `playerId`…): mostly real ones. */
export type FieldHook = (key: string, schema: JsonSchema) => fc.Arbitrary<unknown> | undefined;

const noHook: FieldHook = () => undefined;

/**
 * Values the schema accepts. Fields the hook knows get run-time ids; free-form fields (`{}`) get
 * application-like JSON that is sometimes nasty (deep, huge, `__proto__`), as the schema allows.
 */
export function validFor(schema: JsonSchema, hook: FieldHook = noHook): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) {
    return fc.constant(schema.const);
  }
  if (schema.anyOf) {
    return fc.oneof(...schema.anyOf.map((s) => validFor(s, hook)));
  }
  if (schema.allOf) {
    return validFor(mergeObjects(schema.allOf), hook);
  }
  switch (schema.type) {
    case 'object':
      return objectOf(schema, hook, 'valid');
    case 'string':
      return validString(schema);
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 });
    case 'number':
      return fc.oneof(
        fc.integer({ min: 0, max: 2_000_000_000_000 }),
        fc.double({ noNaN: true, noDefaultInfinity: true, min: schema.minimum ?? -1e12, max: schema.maximum ?? 1e12 }),
      );
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(validFor(schema.items ?? {}, hook), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.max(schema.minItems ?? 0, Math.min(schema.maxItems ?? 4, 4)),
      });
    default:
      return payloadValue;
  }
}

/**
 * Values that are almost what the schema accepts: often exactly right (so the frame reaches its
 * handler), else one thing off: a wrong type, a boundary just past a limit, a missing or unknown
 * field, a `__proto__` key. The mutation can sit at any depth.
 */
export function nearFor(schema: JsonSchema, hook: FieldHook = noHook): fc.Arbitrary<unknown> {
  if (schema.type === 'object' && !schema.anyOf) {
    return objectOf(schema, hook, 'near');
  }
  return fc.oneof({ arbitrary: validFor(schema, hook), weight: 6 }, { arbitrary: boundaryFor(schema), weight: 2 }, { arbitrary: nastyValue, weight: 2 });
}

/** Values just outside what a field allows. */
export function boundaryFor(schema: JsonSchema): fc.Arbitrary<unknown> {
  switch (schema.type) {
    case 'string': {
      const max = schema.maxLength;
      return fc.oneof(
        fc.constantFrom('', ' ', 'a b', 'a/b', 'é', '\u0000', 'x*', '*'),
        max === undefined ? longString : fc.constant('y'.repeat(max + 1)),
        longString,
        fc.constantFrom(0, true, null, new Obj([]), []),
      );
    }
    case 'integer':
    case 'number':
      return fc.oneof(fc.constantFrom((schema.minimum ?? 0) - 1, (schema.maximum ?? 0) + 1, 0.5, -1, '1', null, true), hugeNumber);
    case 'boolean':
      return fc.constantFrom('true', 1, 0, null, new Obj([]));
    case 'array':
      return fc.oneof(
        fc.constant(new Obj([])),
        fc.constant('[]'),
        fc.array(nastyValue, { minLength: (schema.maxItems ?? 8) + 1, maxLength: (schema.maxItems ?? 8) + 2 }),
      );
    case 'object':
      return fc.constantFrom([], 'object', null, 1);
    default:
      return nastyValue;
  }
}

/**
 * An object of the schema. `near`: mostly all valid, else exactly one thing off, at any depth: one
 * field's value a near miss (recursively, for an object field), a required field missing, an
 * unknown field, a key twice, or the whole object the wrong thing.
 */
function objectOf(schema: JsonSchema, hook: FieldHook, mode: 'valid' | 'near'): fc.Arbitrary<unknown> {
  // `Type.Record`: `patternProperties` in TypeBox, `additionalProperties: {}` once OpenAPI has it.
  if (schema.patternProperties || (!schema.properties && typeof schema.additionalProperties === 'object')) {
    return recordOf(mode);
  }
  const props = Object.entries(schema.properties ?? {});
  const required = new Set(schema.required ?? []);
  const fieldArb = (key: string, s: JsonSchema) => hook(key, s) ?? validFor(s, hook);
  const fields = fc.tuple(
    ...props.map(([key, s]) =>
      required.has(key)
        ? fieldArb(key, s).map((v) => [key, v] as const)
        : fc.option(
            fieldArb(key, s).map((v) => [key, v] as const),
            { freq: 2, nil: undefined },
          ),
    ),
  );
  let valid = fields.map((entries) => entries.filter((e): e is readonly [string, unknown] => e !== undefined));
  const [firstKey, firstSchema] = props[0] ?? [];
  if ((schema.minProperties ?? 0) > 0 && firstKey !== undefined && firstSchema) {
    valid = fc.tuple(valid, validFor(firstSchema, hook)).map(([entries, v]) => (entries.length > 0 ? entries : [[firstKey, v] as const]));
  }
  const asObj = valid.map((entries) => new Obj(entries));
  if (mode === 'valid') {
    return asObj;
  }
  const mutations: Array<fc.Arbitrary<unknown>> = [
    // Something unknown alongside: refused by strict schemas, carried along by the dialect's.
    fc
      .tuple(valid, fc.oneof(trickyString, prototypeKey, fc.constantFrom('extra', 'type', 'id', 'data')), nastyValue)
      .map(([e, k, v]) => new Obj([...e, [k, v]])),
    // A key twice: JSON.parse keeps the last one.
    fc.tuple(valid, nastyValue).map(([e, v]) => new Obj([...e, [e[0]?.[0] ?? props[0]?.[0] ?? 'dup', v]])),
  ];
  if (props.length > 0) {
    // One field a near miss, the others as they should be.
    const oneOff = fc
      .constantFrom(...props)
      .chain(([key, s]) =>
        fc
          .tuple(valid, s.type === 'object' ? objectOf(s, hook, 'near') : fc.oneof(boundaryFor(s), nastyValue))
          .map(([e, v]) => new Obj([...e.filter(([k]) => k !== key), [key, v]])),
      );
    mutations.push(oneOff, oneOff);
  }
  if (required.size > 0) {
    mutations.push(fc.tuple(valid, fc.constantFrom(...required)).map(([e, drop]) => new Obj(e.filter(([k]) => k !== drop))));
  }
  return fc.oneof(
    { arbitrary: asObj, weight: 6 },
    { arbitrary: fc.oneof(...mutations), weight: 4 },
    { arbitrary: fc.oneof(nastyValue, boundaryFor(schema)), weight: 1 },
  );
}

/** `Type.Record(String, Unknown)`: metadata. Valid is any object; near adds wrong shapes. */
function recordOf(mode: 'valid' | 'near'): fc.Arbitrary<unknown> {
  const record = fc.array(fc.tuple(fc.oneof(fc.string({ maxLength: 10 }), trickyString, prototypeKey), payloadValue), { maxLength: 4 }).map((e) => new Obj(e));
  return mode === 'valid' ? record : fc.oneof({ arbitrary: record, weight: 5 }, { arbitrary: boundaryFor({ type: 'object' }), weight: 1 });
}

function validString(schema: JsonSchema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? 32, 256);
  if (schema.pattern) {
    return fc
      .stringMatching(new RegExp(schema.pattern), { size: 'xsmall' })
      .map((s) => s.slice(0, max))
      .filter((s) => s.length >= min && new RegExp(schema.pattern!).test(s));
  }
  return fc.oneof(
    fc.string({ minLength: min, maxLength: Math.min(max, 24) }),
    fc.string({ unit: 'grapheme', minLength: min, maxLength: Math.min(max, 8) }),
    fc.constant('z'.repeat(Math.max(min, max))),
  );
}

function mergeObjects(parts: JsonSchema[]): JsonSchema {
  return {
    type: 'object',
    properties: Object.assign({}, ...parts.map((p) => p.properties ?? {})),
    required: parts.flatMap((p) => p.required ?? []),
  };
}
