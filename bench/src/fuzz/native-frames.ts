import { REQUESTS, REQUEST_TYPES, type RequestType } from '@heliograph/protocol';
import fc from 'fast-check';
import { Obj, Raw, Ref, toJson, type Resolver } from './model.js';
import { nearFor, validFor, type FieldHook, type JsonSchema } from './schema-arb.js';
import { deepValue, hugeNumber, nastyValue, prototypeObject, sometimes, trickyString } from './values.js';

/** Rooms the fuzz connections meet in (a well-behaved sink peer waits in the first one). */
export const FUZZ_ROOMS = ['fuzz', 'fuzz-2', 'fuzz-3'] as const;

/** One frame to send on the native endpoint, before run-time ids are filled in. */
export type NativeFrameSpec =
  | { kind: 'request'; body: unknown }
  | { kind: 'text'; text: string }
  | { kind: 'truncated'; body: unknown; keep: number }
  | { kind: 'binary'; bytes: Uint8Array }
  | { kind: 'binaryRequest'; body: unknown }
  | { kind: 'badUtf8'; body: unknown; at: number; bytes: readonly number[] }
  | { kind: 'sized'; body: unknown; size: number; padFirst: boolean }
  /**
   * Not a frame: the connection is cut (no close frame); the next one resumes the session from
   * `rewind` events before the last one processed (0: exactly; more: replays some again; -1: one
   * ahead) and re-sends what was unanswered.
   */
  | { kind: 'drop'; rewind: number };

export interface FrameLimits {
  maxFrameBytes: number;
  hardFrameBytes: number;
}

/** Fields that name run-time things get real ids most of the time, so the frame gets past lookups. */
export const nativeHook: FieldHook = (key, schema) => {
  if (key === 'to') {
    return fc.oneof({ arbitrary: fc.nat(50).map((i) => new Ref('peer', i)), weight: 5 }, { arbitrary: validFor(schema), weight: 1 });
  }
  if (key === 'room') {
    return fc.oneof({ arbitrary: fc.constantFrom(...FUZZ_ROOMS), weight: 5 }, { arbitrary: validFor(schema), weight: 1 });
  }
  if (key === 'session' || key === 'secret') {
    // `session.resume` with another connection's credentials from its `session.ready`.
    return fc.oneof({ arbitrary: fc.constant(new Ref(key, 0)), weight: 3 }, { arbitrary: validFor(schema), weight: 1 });
  }
  return undefined;
};

/** A request id: the harness's unique one, or something else a client might put there. */
const requestId: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constant(new Ref('id', 0)), weight: 12 },
  {
    arbitrary: fc.oneof(
      fc.constantFrom(
        0,
        1.5,
        -1,
        '',
        'x'.repeat(64),
        'x'.repeat(65),
        null,
        true,
        [],
        new Obj([]),
        new Raw('-0'),
        new Raw('9007199254740993'),
        new Raw('1e3'),
        new Raw('1e400'),
      ),
      trickyString,
      hugeNumber,
    ),
    weight: 1,
  },
);

const requestType: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constantFrom<RequestType>(...REQUEST_TYPES), weight: 14 },
  { arbitrary: fc.constantFrom('room.join ', 'ROOM.JOIN', 'room', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'room.destroy'), weight: 1 },
  { arbitrary: fc.oneof(trickyString, nastyValue), weight: 1 },
);

/** The request types weighted by how much code sits behind them; types added later get 2. */
const typeWeights: Partial<Record<RequestType, number>> = { 'room.join': 5, 'room.leave': 2, 'signal.send': 5, 'data.send': 5, 'peer.update': 4, ping: 1 };

function requestOf(type: RequestType): fc.Arbitrary<Obj> {
  const data = nearFor(REQUESTS[type].data as JsonSchema, nativeHook);
  return fc
    .tuple(requestId, data, fc.constantFrom('normal', 'normal', 'normal', 'normal', 'normal', 'normal', 'noData', 'reordered', 'extra'), nastyValue)
    .map(([id, body, layout, extra]) => {
      const entries: Array<readonly [string, unknown]> = [
        ['id', id],
        ['type', type],
        ['data', body],
      ];
      switch (layout) {
        case 'noData':
          return new Obj(entries.slice(0, 2));
        case 'reordered':
          return new Obj([entries[2]!, entries[1]!, entries[0]!]);
        case 'extra':
          return new Obj([...entries, ['extra', extra]]);
        default:
          return new Obj(entries);
      }
    });
}

/** A request with the right envelope and a type from the protocol, its data almost valid. */
export const nativeRequest: fc.Arbitrary<Obj> = fc.oneof(...REQUEST_TYPES.map((type) => ({ arbitrary: requestOf(type), weight: typeWeights[type] ?? 2 })), {
  // Any envelope field can be wrong: type, data, and what sits beside them.
  arbitrary: fc.tuple(requestId, requestType, nastyValue).map(
    ([id, type, data]) =>
      new Obj([
        ['id', id],
        ['type', type],
        ['data', data],
      ]),
  ),
  weight: 3,
});

/** Text that is not a request at all. */
const garbageText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '{',
    '}',
    '[]',
    'null',
    '42',
    '"x"',
    'true',
    '{}',
    '{"id":1',
    '{"id":1,"type":"ping"',
    '{"id":1,"type":"ping","data":{}}x',
    '\u0000',
    '{"id":null}',
    '{"id":[1]}',
    '{"id":1}{"id":2}',
    '\ufeff{"id":1,"type":"ping"}',
  ),
  fc.string({ unit: 'binary', maxLength: 64 }),
  deepValue.map((r) => r.text),
  hugeNumber.map((r) => r.text),
  prototypeObject.map((o) => toJson(o, () => null)),
);

/** Bytes that are not UTF-8: a stray byte, an overlong NUL, an encoded surrogate, a cut sequence. */
const badUtf8Bytes = fc.constantFrom(
  [0xff],
  [0xfe],
  [0x80],
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xe2, 0x82],
  [0xf4, 0x90, 0x80, 0x80],
);

export function nativeFrame(limits: FrameLimits): fc.Arbitrary<NativeFrameSpec> {
  const sizes = fc.constantFrom(limits.maxFrameBytes - 16, limits.maxFrameBytes, limits.maxFrameBytes + 1, 1_000_000, limits.hardFrameBytes + 1);
  return fc.oneof(
    { arbitrary: nativeRequest.map((body) => ({ kind: 'request' as const, body })), weight: 80 },
    { arbitrary: garbageText.map((text) => ({ kind: 'text' as const, text })), weight: 6 },
    {
      arbitrary: fc.tuple(nativeRequest, fc.double({ min: 0, max: 1, noNaN: true })).map(([body, keep]) => ({ kind: 'truncated' as const, body, keep })),
      weight: 2,
    },
    { arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'binary' as const, bytes })), weight: 2 },
    { arbitrary: nativeRequest.map((body) => ({ kind: 'binaryRequest' as const, body })), weight: 1 },
    {
      arbitrary: fc
        .tuple(nativeRequest, fc.double({ min: 0, max: 1, noNaN: true }), badUtf8Bytes)
        .map(([body, at, bytes]) => ({ kind: 'badUtf8' as const, body, at, bytes })),
      weight: 1,
    },
    { arbitrary: fc.tuple(nativeRequest, sizes, fc.boolean()).map(([body, size, padFirst]) => ({ kind: 'sized' as const, body, size, padFirst })), weight: 1 },
  );
}

/** What goes on the wire. */
export interface WireFrame {
  data: Buffer;
  binary: boolean;
}

/** Fills in run-time ids and produces the bytes of a frame. */
export function encodeNative(spec: Exclude<NativeFrameSpec, { kind: 'drop' }>, resolve: Resolver): WireFrame {
  switch (spec.kind) {
    case 'request':
      return text(toJson(spec.body, resolve));
    case 'text':
      return text(spec.text);
    case 'truncated': {
      const full = toJson(spec.body, resolve);
      return text(full.slice(0, Math.floor(full.length * spec.keep)));
    }
    case 'binary':
      return { data: Buffer.from(spec.bytes), binary: true };
    case 'binaryRequest':
      return { data: Buffer.from(toJson(spec.body, resolve)), binary: true };
    case 'badUtf8': {
      const bytes = Buffer.from(toJson(spec.body, resolve));
      const at = Math.floor(bytes.length * spec.at);
      return { data: Buffer.concat([bytes.subarray(0, at), Buffer.from(spec.bytes), bytes.subarray(at)]), binary: false };
    }
    case 'sized':
      return { data: padded(spec.body, spec.size, spec.padFirst, resolve), binary: false };
  }
}

function text(s: string): WireFrame {
  return { data: Buffer.from(s), binary: false };
}

/** The frame with a `pad` field that brings it to exactly `size` bytes (or just over, if it was larger). */
export function padded(body: unknown, size: number, padFirst: boolean, resolve: Resolver): Buffer {
  const entries = body instanceof Obj ? body.entries : [['body', body] as const];
  const withPad = (n: number) => {
    const pad = ['pad', new Raw(`"${'p'.repeat(n)}"`)] as const;
    return Buffer.from(toJson(new Obj(padFirst ? [pad, ...entries] : [...entries, pad]), resolve));
  };
  const base = withPad(0).length;
  return withPad(Math.max(0, size - base));
}

/** A well-formed `room.join` into one of the fuzz rooms, so that what follows meets a room. */
const joinFirst: fc.Arbitrary<NativeFrameSpec> = validFor(REQUESTS['room.join'].data as JsonSchema, nativeHook).map((data) => ({
  kind: 'request' as const,
  body: new Obj([
    ['id', new Ref('id', 0)],
    ['type', 'room.join'],
    ['data', data],
  ]),
}));

/**
 * A `session.resume` of the session the connection replaces (first on a new connection, the
 * server takes it over), with the last `seq` that session processed, or one a little off.
 */
const resumeFirst: fc.Arbitrary<NativeFrameSpec> = fc
  .oneof({ arbitrary: fc.constant<unknown>(new Ref('lastSeq', 0)), weight: 4 }, { arbitrary: fc.constantFrom<unknown>(0, 1, 2, 1e6, -1), weight: 1 })
  .map((lastSeq) => ({
    kind: 'request' as const,
    body: new Obj([
      ['id', new Ref('id', 0)],
      ['type', 'session.resume'],
      [
        'data',
        new Obj([
          ['session', new Ref('session', 0)],
          ['secret', new Ref('secret', 0)],
          ['lastSeq', lastSeq],
        ]),
      ],
    ]),
  }));

/** What one connection sends before waiting for its answers: often a join or a resume, then 6 to 24 frames. */
export function nativeBatch(limits: FrameLimits): fc.Arbitrary<NativeFrameSpec[]> {
  const first = fc.oneof({ arbitrary: joinFirst, weight: 3 }, { arbitrary: resumeFirst, weight: 1 });
  const rewind = fc.oneof({ arbitrary: fc.constant(0), weight: 1 }, { arbitrary: fc.constantFrom(1, 2, 5, -1), weight: 1 });
  const cut = sometimes(
    rewind.map((n): NativeFrameSpec => ({ kind: 'drop', rewind: n })),
    6,
  );
  return fc
    .tuple(fc.option(first, { freq: 2, nil: undefined }), fc.array(nativeFrame(limits), { minLength: 6, maxLength: 24 }), cut)
    .map(([head, frames, drop]) => [...(head ? [head] : []), ...frames, ...(drop ? [drop] : [])]);
}
