import { createHmac } from 'node:crypto';
import { TokenClaims } from '@heliograph/protocol';
import fc from 'fast-check';
import { Obj, Raw, toJson } from './model.js';
import { nearFor, type JsonSchema } from './schema-arb.js';
import { deepValue, nastyValue, prototypeObject, trickyString } from './values.js';

/** A token to present, before it is signed (signing needs the secret and the time of sending). */
export type TokenSpec =
  /** Well-formed claims, signed with the node's secret: must be accepted. */
  | { kind: 'valid'; sub: string }
  /** Claims almost as the schema wants (wrong types, deep metadata…), signed with the node's secret. */
  | { kind: 'claims'; claims: unknown; header: unknown }
  /** Good claims, wrong key. */
  | { kind: 'wrongKey' }
  /** Good claims; `alg: none`, another algorithm, or a header that is not what it should be. */
  | { kind: 'header'; header: unknown; signed: boolean }
  /** Anything else in the place of a token. */
  | { kind: 'garbage'; text: string };

/** Whether the server must accept it. */
export function mustAccept(spec: TokenSpec): boolean {
  return spec.kind === 'valid';
}

const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64url');

export function sign(headerJson: string, payloadJson: string, secret: string): string {
  const input = `${b64(headerJson)}.${b64(payloadJson)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

const HS256 = new Obj([
  ['alg', 'HS256'],
  ['typ', 'JWT'],
]);

function goodClaims(sub: string, nowSeconds: number): Obj {
  return new Obj([
    ['sub', sub],
    [
      'grants',
      [
        new Obj([
          ['room', '*'],
          ['join', true],
          ['create', true],
        ]),
      ],
    ],
    ['exp', nowSeconds + 3600],
    ['iat', nowSeconds],
  ]);
}

/** Turns a spec into the token string; `now` is the node's clock in milliseconds. */
export function renderToken(spec: TokenSpec, secret: string, now: number): string {
  const nowSeconds = Math.floor(now / 1000);
  const json = (v: unknown) => toJson(v, () => null);
  switch (spec.kind) {
    case 'valid':
      return sign(json(HS256), json(goodClaims(spec.sub, nowSeconds)), secret);
    case 'claims':
      return sign(json(spec.header), json(spec.claims), secret);
    case 'wrongKey':
      return sign(json(HS256), json(goodClaims('intruder', nowSeconds)), `${secret}-not`);
    case 'header': {
      const token = sign(json(spec.header), json(goodClaims('intruder', nowSeconds)), secret);
      return spec.signed ? token : `${token.slice(0, token.lastIndexOf('.'))}.`;
    }
    case 'garbage':
      return spec.text;
  }
}

/** Claims relative to now: expired, not yet valid, far future, and the schema's near misses. */
const claims: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: nearFor(TokenClaims as unknown as JsonSchema), weight: 4 },
  {
    arbitrary: fc.tuple(deepValue, fc.constantFrom('metadata', 'grants', 'name', 'sub', 'exp', 'aud')).map(
      ([deep, key]) =>
        new Obj([
          ['sub', 'deep'],
          ['grants', []],
          ['exp', new Raw('1e12')],
          [key, deep],
        ]),
    ),
    weight: 1,
  },
  {
    arbitrary: fc.tuple(prototypeObject, nastyValue).map(([proto, v]) => new Obj([...proto.entries, ['sub', 'p'], ['grants', []], ['exp', 4e9], ['x', v]])),
    weight: 1,
  },
  {
    arbitrary: fc.constantFrom(
      new Obj([
        ['sub', 'old'],
        ['grants', []],
        ['exp', 1],
      ]),
      new Obj([
        ['sub', 'late'],
        ['grants', []],
        ['exp', 4e9],
        ['nbf', 4e9],
      ]),
    ),
    weight: 1,
  },
);

const header: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    new Obj([['alg', 'none']]),
    new Obj([
      ['alg', 'none'],
      ['typ', 'JWT'],
    ]),
    new Obj([['alg', 'HS512']]),
    new Obj([
      ['alg', 'RS256'],
      ['kid', 'x'],
    ]),
    new Obj([['alg', 'ES256']]),
    new Obj([['alg', 'EdDSA']]),
    new Obj([
      ['alg', 'HS256'],
      ['crit', ['exp']],
    ]),
    new Obj([
      ['alg', 'HS256'],
      ['b64', false],
      ['crit', ['b64']],
    ]),
    new Obj([['alg', 'hs256']]),
    new Obj([]),
    'HS256',
    null,
  ),
  fc.tuple(fc.oneof(trickyString, nastyValue)).map(([alg]) => new Obj([['alg', alg]])),
  deepValue.map(
    (deep) =>
      new Obj([
        ['alg', 'HS256'],
        ['x', deep],
      ]),
  ),
  prototypeObject.map((p) => new Obj([['alg', 'HS256'], ...p.entries])),
);

const garbage: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', '.', '..', 'a.b', 'a.b.c', 'a.b.c.d', 'Bearer', 'null', '%', '%zz', 'e30.e30.', 'eyJhbGciOiJub25lIn0.e30.', 'eyJhbGciOiJIUzI1NiJ9..'),
  trickyString,
  fc.string({ unit: 'binary-ascii', maxLength: 80 }),
  fc.constantFrom(16_385, 40_000).map((n) => `${'a'.repeat(n / 2)}.${'b'.repeat(n / 2)}.c`),
);

export const tokenSpec: fc.Arbitrary<TokenSpec> = fc.oneof(
  { arbitrary: fc.constantFrom('fuzz-user', 'u-1', 'ünï', 'a'.repeat(256)).map((sub) => ({ kind: 'valid' as const, sub })), weight: 2 },
  {
    arbitrary: fc
      .tuple(claims, fc.oneof({ arbitrary: fc.constant<unknown>(HS256), weight: 5 }, { arbitrary: header, weight: 1 }))
      .map(([c, h]) => ({ kind: 'claims' as const, claims: c, header: h })),
    weight: 5,
  },
  { arbitrary: fc.constant({ kind: 'wrongKey' as const }), weight: 1 },
  { arbitrary: fc.tuple(header, fc.boolean()).map(([h, signed]) => ({ kind: 'header' as const, header: h, signed })), weight: 2 },
  { arbitrary: garbage.map((text) => ({ kind: 'garbage' as const, text })), weight: 2 },
);
