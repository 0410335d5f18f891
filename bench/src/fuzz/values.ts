import fc from 'fast-check';
import { Obj, Raw } from './model.js';

/** `arb` one time in `oneIn`, else undefined. (`fc.option`'s `freq` is the other way round: nil one time in `freq`.) */
export function sometimes<T>(arb: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: oneIn - 1 }, { arbitrary: arb, weight: 1 });
}

/** Nesting depths: around the default limit (32), well past it, and past V8's recursion limits. */
const DEPTHS = [31, 32, 33, 64, 1_000, 5_000, 7_000, 10_000, 30_000];

/** `depth` levels of arrays, objects, or both, as JSON text. */
export const deepValue: fc.Arbitrary<Raw> = fc.tuple(fc.constantFrom(...DEPTHS), fc.constantFrom('array', 'object', 'mixed', 'wide')).map(([depth, shape]) => {
  switch (shape) {
    case 'array':
      return new Raw(`${'['.repeat(depth)}${']'.repeat(depth)}`);
    case 'object':
      return new Raw(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
    case 'mixed':
      return new Raw(`${'[{"x":'.repeat(depth >> 1)}null${'}]'.repeat(depth >> 1)}`);
    default:
      // Deep, with siblings at each level: what a careless recursive walker chokes on last.
      return new Raw(`${'{"k":0,"v":['.repeat(depth >> 2)}0${']}'.repeat(depth >> 2)}`);
  }
});

/** Numbers at the edges of JSON and IEEE 754, as text (some only text can carry). */
export const hugeNumber: fc.Arbitrary<Raw> = fc.oneof(
  fc
    .constantFrom(
      '1e308',
      '-1e308',
      '1e309',
      '-1e400',
      '-0',
      '0e0',
      '-0.0',
      '9007199254740993',
      '-9007199254740993',
      '9007199254740992',
      '5e-324',
      '1E+2',
      '0.1e-999',
    )
    .map((t) => new Raw(t)),
  fc.integer({ min: 20, max: 2_000 }).map((n) => new Raw(`1${'0'.repeat(n)}`)),
  fc.integer({ min: 20, max: 2_000 }).map((n) => new Raw(`0.${'0'.repeat(n)}1`)),
  fc.integer({ min: 20, max: 500 }).map((n) => new Raw(`-${'9'.repeat(n)}.${'9'.repeat(n)}e-${n}`)),
);

/** Strings a server may mishandle: control characters, separators, lone surrogates, RTL, emoji, NUL. */
export const trickyString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.constantFrom(
    '',
    '\u0000',
    '\u2028\u2029',
    '\ud800',
    '\udfff',
    '\ufeff',
    '\u202e',
    '😀',
    'a\u0301',
    '%00',
    '../..',
    '${x}',
    '<script>',
    'null',
    'undefined',
    '__proto__',
    'constructor',
    'prototype',
    '*',
    'ps:*',
  ),
);

/** Strings longer than any field allows. Built at send time from a length, so shrinking stays cheap. */
export const longString: fc.Arbitrary<Raw> = fc
  .tuple(fc.constantFrom(65, 129, 257, 1_025, 4_097, 20_000), fc.constantFrom('x', 'é', '😀', '\\u0000', '\\"'))
  .map(([n, unit]) => new Raw(`"${unit.repeat(n)}"`));

export const primitive: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constantFrom(null, true, false, 0, -1, 1, 1.5, '', 'x'), weight: 3 },
  { arbitrary: fc.integer(), weight: 2 },
  { arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }), weight: 1 },
  { arbitrary: trickyString, weight: 3 },
  { arbitrary: hugeNumber, weight: 1 },
);

/** Keys that mean something to JavaScript objects. */
export const prototypeKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf');

/** Objects whose keys are `__proto__`, `constructor`, `prototype`, with pollution attempts inside. */
export const prototypeObject: fc.Arbitrary<Obj> = fc
  .array(
    fc.tuple(
      prototypeKey,
      fc.oneof(
        primitive,
        fc.constant(
          new Obj([
            ['polluted', true],
            ['isAdmin', true],
            ['prototype', new Obj([['polluted', 1]])],
          ]),
        ),
      ),
    ),
    {
      minLength: 1,
      maxLength: 3,
    },
  )
  .map((entries) => new Obj(entries));

/** Any value, nasty ones weighted up: what goes where a field has the wrong type. */
export const nastyValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { arbitrary: primitive, weight: 6 },
    { arbitrary: deepValue, weight: 2 },
    { arbitrary: longString, weight: 1 },
    { arbitrary: prototypeObject, weight: 1 },
    { arbitrary: fc.array(tie('value'), { maxLength: 3 }), weight: 1 },
    {
      arbitrary: fc.array(fc.tuple(fc.oneof(trickyString, prototypeKey), tie('value')), { maxLength: 3 }).map((e) => new Obj(e)),
      weight: 1,
    },
  ),
})).value;

/** Free-form JSON as applications put in metadata, signals and payloads: mostly ordinary, sometimes nasty. */
export const payloadValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }).map(plainToModel), weight: 3 },
  { arbitrary: nastyValue, weight: 3 },
);

/** A metadata object (a JSON object, as the schema asks) whose values may be nasty. */
export const metadataObject: fc.Arbitrary<Obj> = fc.oneof(
  fc.array(fc.tuple(fc.oneof(fc.string({ maxLength: 8 }), trickyString, prototypeKey), payloadValue), { maxLength: 4 }).map((e) => new Obj(e)),
  deepValue.map((deep) => new Obj([['deep', deep]])),
);

/** `fc.jsonValue` builds objects with `__proto__` keys as own properties; keep them as entries. */
function plainToModel(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(plainToModel);
  }
  if (value !== null && typeof value === 'object') {
    return new Obj(Object.entries(value).map(([k, v]) => [k, plainToModel(v)] as const));
  }
  return value;
}
