/**
 * The values the fuzzer generates, before they become bytes. Plain JSON values plus three markers:
 * `Raw` (JSON text placed verbatim: 10,000 levels of nesting, `1e400`, `-0`, which a JS value
 * could not hold or `JSON.stringify` would overflow on), `Obj` (an object as a list of entries, so
 * that `__proto__` is an ordinary key and keys may repeat) and `Ref` (a placeholder for an id
 * that only exists at run time, such as another peer's id, resolved when the frame is sent).
 */
export class Raw {
  constructor(readonly text: string) {}
}

export class Obj {
  constructor(readonly entries: ReadonlyArray<readonly [string, unknown]>) {}
}

export type RefKind = 'id' | 'peer' | 'player' | 'streamer' | 'room' | 'session' | 'secret' | 'lastSeq';

export class Ref {
  constructor(
    readonly kind: RefKind,
    readonly index: number,
  ) {}
}

/** Turns a `Ref` into a value at send time. */
export type Resolver = (ref: Ref) => unknown;

/** Serialises a generated value to JSON text (markers included). Generated values are shallow. */
export function toJson(value: unknown, resolve: Resolver): string {
  if (value instanceof Raw) {
    return value.text;
  }
  if (value instanceof Ref) {
    return toJson(resolve(value), resolve);
  }
  if (value instanceof Obj) {
    return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${toJson(v, resolve)}`).join(',')}}`;
  }
  if (Array.isArray(value)) {
    return `[${value.map((v) => toJson(v, resolve)).join(',')}]`;
  }
  if (value === undefined) {
    return 'null';
  }
  if (typeof value === 'object' && value !== null) {
    return toJson(new Obj(Object.entries(value)), resolve);
  }
  return JSON.stringify(value);
}

/** Picks `index` from `list` (wrapping), or `fallback` when the list is empty. */
export function pick<T>(list: readonly T[], index: number, fallback: T): T {
  return list.length === 0 ? fallback : (list[index % list.length] as T);
}

/** Lone surrogates cannot be percent-encoded (`encodeURIComponent` throws): U+FFFD instead. */
export function wellFormed(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}
