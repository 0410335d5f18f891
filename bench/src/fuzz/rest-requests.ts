import fc from 'fast-check';
import { Raw, Ref, toJson, wellFormed, type Resolver } from './model.js';
import { nearFor, validFor, type FieldHook, type JsonSchema } from './schema-arb.js';
import { tokenSpec, type TokenSpec } from './tokens.js';
import { deepValue, nastyValue, sometimes, trickyString } from './values.js';

/** Rooms the REST fuzzer works on (a well-behaved peer waits in the first). */
export const REST_ROOMS = ['rest-1', 'rest-2', 'rest-3'] as const;

/** Who the request says it is. */
export type Caller = 'rw' | 'ro' | 'none' | 'unknownKey' | { token: TokenSpec } | { header: string };

/** One HTTP request before run-time ids and credentials are filled in. */
export interface RestSpec {
  method: string;
  /** Path segments; `Ref`s and odd values are encoded at send time. */
  segments: readonly unknown[];
  /** Segments sent verbatim (already odd on purpose: `%zz`, `..`). */
  rawSegments: boolean;
  query: Array<readonly [string, unknown]>;
  caller: Caller;
  contentType: string | undefined;
  body: { kind: 'json'; value: unknown } | { kind: 'bytes'; bytes: Uint8Array } | { kind: 'sized'; size: number } | undefined;
}

interface OpenApiOp {
  parameters?: Array<{ in: string; name: string; required?: boolean; schema: JsonSchema }>;
  requestBody?: { content?: Record<string, { schema: JsonSchema }> };
}
export type OpenApiDoc = { paths: Record<string, Record<string, OpenApiOp>> };

export const restHook: FieldHook = (key, schema) => {
  if (key === 'roomId' || key === 'id' || key === 'room') {
    return fc.oneof({ arbitrary: fc.constantFrom(...REST_ROOMS, 'fuzz'), weight: 5 }, { arbitrary: validFor(schema), weight: 1 });
  }
  if (key === 'peerId' || key === 'to') {
    const peer = fc.nat(50).map((i) => new Ref('peer', i));
    return fc.oneof(
      { arbitrary: schema.type === 'array' ? fc.array(peer, { minLength: 1, maxLength: 3 }) : peer, weight: 5 },
      { arbitrary: validFor(schema), weight: 1 },
    );
  }
  return undefined;
};

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

const contentType = fc.oneof(
  { arbitrary: fc.constant('application/json'), weight: 12 },
  {
    arbitrary: fc.constantFrom(
      undefined,
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonx',
      'application/merge-patch+json',
      '*/*',
      '',
    ),
    weight: 2,
  },
);

const caller: fc.Arbitrary<Caller> = fc.oneof(
  { arbitrary: fc.constant<Caller>('rw'), weight: 12 },
  { arbitrary: fc.constantFrom<Caller>('ro', 'none', 'unknownKey'), weight: 2 },
  { arbitrary: tokenSpec.map((token): Caller => ({ token })), weight: 1 },
  {
    arbitrary: fc
      .constantFrom('Bearer', 'Bearer ', 'Basic Zm9vOmJhcg==', 'bearer x y', `Bearer ${'k'.repeat(9000)}`, 'Bearer \u00ff\u00fe')
      .map((header): Caller => ({ header })),
    weight: 1,
  },
);

/** Bodies other than near-valid JSON: not JSON, not UTF-8, deep, over the body limit. */
const oddBody = fc.oneof(
  fc
    .constantFrom('', '{', 'null', '[]', '"x"', '{"a":1}{', '\u0000', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}')
    .map((t) => ({ kind: 'json' as const, value: new Raw(t) })),
  deepValue.map((value) => ({ kind: 'json' as const, value })),
  nastyValue.map((value) => ({ kind: 'json' as const, value })),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'bytes' as const, bytes })),
  fc
    .constantFrom(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22]))
    .map((bytes) => ({ kind: 'bytes' as const, bytes })),
  fc.constantFrom(70_000, 1_000_000).map((size) => ({ kind: 'sized' as const, size })),
);

function queryValue(schema: JsonSchema): fc.Arbitrary<unknown> {
  return nearFor(schema, restHook);
}

/** Requests for one operation of the OpenAPI document, its schemas almost satisfied. */
function operationRequests(path: string, method: string, op: OpenApiOp): fc.Arbitrary<RestSpec> {
  const params = op.parameters ?? [];
  const segments = fc.tuple(
    ...path
      .split('/')
      .filter(Boolean)
      .map((part) => {
        const name = /^\{(.+)\}$/.exec(part)?.[1];
        const schema = params.find((p) => p.in === 'path' && p.name === name)?.schema;
        return name && schema ? (restHook(name, schema) ?? nearFor(schema)) : fc.constant<unknown>(part);
      }),
  );
  const query = fc.tuple(
    ...params
      .filter((p) => p.in === 'query')
      .map((p) =>
        fc.option(
          queryValue(p.schema).map((v) => [p.name, v] as const),
          { nil: undefined },
        ),
      ),
    sometimes(fc.tuple(fc.oneof(trickyString, fc.constantFrom('limit', 'x', '__proto__')), nastyValue), 6),
  );
  const schema = op.requestBody?.content?.['application/json']?.schema;
  const body = schema
    ? fc.oneof({ arbitrary: nearFor(schema, restHook).map((value) => ({ kind: 'json' as const, value })), weight: 8 }, { arbitrary: oddBody, weight: 1 })
    : sometimes(oddBody, 8);
  return fc
    .tuple(
      segments,
      query,
      body,
      caller,
      contentType,
      fc.oneof({ arbitrary: fc.constant(method.toUpperCase()), weight: 15 }, { arbitrary: fc.constantFrom(...METHODS), weight: 1 }),
    )
    .map(([segs, q, b, who, type, m]) => ({
      method: m,
      segments: segs,
      rawSegments: false,
      query: q.filter((e): e is readonly [string, unknown] => e !== undefined),
      caller: who,
      contentType: b === undefined ? undefined : type,
      // Node's client refuses bodies on GET and HEAD only through fetch; http.request sends them.
      body: b,
    }));
}

/** Paths no route has, and paths that are odd to parse. */
const oddPaths: fc.Arbitrary<RestSpec> = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(
        ['v1'],
        ['v1', ''],
        ['v1', 'rooms', ''],
        ['v1', 'rooms', '..', 'tokens'],
        ['v1', 'rooms', '%zz'],
        ['v1', 'rooms', '%00'],
        ['v1', 'rooms', 'a%2Fb'],
        ['', 'v1', 'rooms'],
        ['v1', 'ROOMS'],
        ['v1', 'rooms', 'x', 'peers', '%F0%9F%98%80'],
        ['v1', 'rooms', 'x'.repeat(5000)],
        ['v1', 'openapi.json'],
        ['v1', 'docs'],
        ['healthz'],
        ['readyz'],
        ['metrics'],
        ['api', 'status'],
        ['api', 'streamers', '%zz'],
      ),
      fc.array(fc.oneof(trickyString, fc.constantFrom('v1', 'rooms', 'peers', 'kick', 'data', 'tokens', 'auth', 'lobby')), { maxLength: 5 }),
    ),
    fc.constantFrom(...METHODS),
    caller,
  )
  .map(([segments, method, who]) => ({ method, segments, rawSegments: true, query: [], caller: who, contentType: undefined, body: undefined }));

/** The hidden auth routes (not in the OpenAPI document): LoginBody and SignupBody of src/http/auth-routes.ts. */
const AUTH_BODIES: Record<string, JsonSchema> = {
  login: {
    type: 'object',
    required: ['username', 'password'],
    properties: { username: { type: 'string', minLength: 1, maxLength: 64 }, password: { type: 'string', minLength: 1, maxLength: 1024 } },
    additionalProperties: false,
  },
  signup: {
    type: 'object',
    required: ['username', 'password'],
    properties: {
      username: { type: 'string', minLength: 1, maxLength: 64 },
      password: { type: 'string', minLength: 1, maxLength: 1024 },
      displayName: { type: 'string', minLength: 1, maxLength: 128 },
    },
    additionalProperties: false,
  },
};

const authHook: FieldHook = (key) => {
  if (key === 'username') {
    return fc.oneof({ arbitrary: fc.constantFrom('fuzzer', 'nobody', 'FUZZER', 'fuzzer '), weight: 3 }, { arbitrary: trickyString, weight: 1 });
  }
  if (key === 'password') {
    return fc.oneof({ arbitrary: fc.constantFrom('correct horse battery', 'wrong password', 'short'), weight: 3 }, { arbitrary: trickyString, weight: 1 });
  }
  return undefined;
};

/** POST /v1/auth/login and /v1/auth/signup, and GET /v1/lobby/rooms with every kind of token. */
export const authRequests: fc.Arbitrary<RestSpec> = fc.oneof(
  ...(['login', 'signup'] as const).map((route) =>
    fc
      .tuple(
        fc.oneof(
          { arbitrary: nearFor(AUTH_BODIES[route]!, authHook).map((value) => ({ kind: 'json' as const, value })), weight: 6 },
          { arbitrary: oddBody, weight: 1 },
        ),
        contentType,
      )
      .map(([body, type]) => ({
        method: 'POST',
        segments: ['v1', 'auth', route],
        rawSegments: false,
        query: [],
        caller: 'none' as Caller,
        contentType: type,
        body,
      })),
  ),
  fc.tuple(tokenSpec, fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'POST')).map(([token, method]) => ({
    method,
    segments: ['v1', 'lobby', 'rooms'],
    rawSegments: false,
    query: [],
    caller: { token } as Caller,
    contentType: undefined,
    body: undefined,
  })),
);

/** Every operation of the control API's OpenAPI document, plus odd paths. */
export function controlRequests(doc: OpenApiDoc): fc.Arbitrary<RestSpec> {
  const ops = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => operationRequests(path, method, op)));
  return fc.oneof({ arbitrary: fc.oneof(...ops), weight: 12 }, { arbitrary: oddPaths, weight: 1 });
}

/** What `renderRequest` needs at send time. */
export interface RestContext {
  resolve: Resolver;
  rwKey: string;
  roKey: string;
  token: (spec: TokenSpec) => string;
}

export interface RenderedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

/** Values as they go in a URL: strings as they are, anything else as its JSON. */
function urlText(value: unknown, resolve: Resolver): string {
  const resolved = value instanceof Ref ? resolve(value) : value;
  return typeof resolved === 'string' ? resolved : toJson(resolved, resolve);
}

const encode = (text: string) => encodeURIComponent(wellFormed(text));

/** Node's client refuses paths with bytes outside 0x21–0xFF; keep the odd ones it can send. */
function sendable(text: string): string {
  return wellFormed(text).replace(/[^\u0021-\u00ff]/gu, (c) => encodeURIComponent(c));
}

export function renderRequest(spec: RestSpec, ctx: RestContext): RenderedRequest {
  const segs = spec.segments.map((s) => (spec.rawSegments ? sendable(urlText(s, ctx.resolve)) : encode(urlText(s, ctx.resolve))));
  const query = spec.query.map(([k, v]) => `${encode(k)}=${encode(urlText(v, ctx.resolve))}`).join('&');
  const headers: Record<string, string> = {};
  const who = spec.caller;
  if (who === 'rw' || who === 'ro') {
    headers.authorization = `Bearer ${who === 'rw' ? ctx.rwKey : ctx.roKey}`;
  } else if (who === 'unknownKey') {
    headers.authorization = `Bearer ${'u'.repeat(40)}`;
  } else if (typeof who === 'object' && 'token' in who) {
    headers.authorization = `Bearer ${sendableHeader(ctx.token(who.token))}`;
  } else if (typeof who === 'object') {
    headers.authorization = sendableHeader(who.header);
  }
  if (spec.contentType !== undefined) {
    headers['content-type'] = spec.contentType;
  }
  let body: Buffer | undefined;
  if (spec.body?.kind === 'json') {
    body = Buffer.from(toJson(spec.body.value, ctx.resolve));
  } else if (spec.body?.kind === 'bytes') {
    body = Buffer.from(spec.body.bytes);
  } else if (spec.body?.kind === 'sized') {
    body = Buffer.from(`{"payload":"${'x'.repeat(spec.body.size)}"}`);
  }
  return { method: spec.method, path: `/${segs.join('/')}${query ? `?${query}` : ''}`, headers, body };
}

/** Header values Node's client accepts (tab, 0x20–0x7E, 0x80–0xFF). */
function sendableHeader(text: string): string {
  return text.replace(/[^\t\u0020-\u007e\u0080-\u00ff]/g, '?');
}
