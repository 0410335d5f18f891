/**
 * Nesting bounds for untrusted JSON. `JSON.parse` nests as deep as the text does, but
 * `JSON.stringify`, validators and most code that walks a value recurse, so a 14 KB frame of
 * 7,000 nested arrays overflows the stack wherever it is next serialised. Every JSON document
 * from outside (a frame, a Pixel Streaming message, a REST body) is checked once, at the edge.
 */

/** The default most levels a JSON document may nest: `{}` and `[]` are one level, `{"a":[]}` two. */
export const DEFAULT_MAX_DEPTH = 32;

/**
 * Where `value` nests deeper than `maxDepth` levels, as a JSON pointer to the first object or
 * array past the limit; null when it does not. The walk itself never goes deeper than
 * `maxDepth + 1`, so it cannot overflow the stack however deep the value is.
 */
export function tooDeepAt(value: unknown, maxDepth: number): string | null {
  const path: string[] = [];
  return exceeds(value, maxDepth, path) ? `/${path.reverse().join('/')}` : null;
}

function exceeds(value: unknown, levelsLeft: number, path: string[]): boolean {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  if (levelsLeft === 0) {
    return true;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (exceeds(value[i], levelsLeft - 1, path)) {
        path.push(String(i));
        return true;
      }
    }
    return false;
  }
  for (const key of Object.keys(value)) {
    if (exceeds((value as Record<string, unknown>)[key], levelsLeft - 1, path)) {
      path.push(key.replace(/~/g, '~0').replace(/\//g, '~1'));
      return true;
    }
  }
  return false;
}

/** The message that names the limit, for every edge that refuses a too-deep document. */
export function tooDeepMessage(what: string, maxDepth: number): string {
  return `${what} nests deeper than ${maxDepth} levels (the limit is limits.maxDepth)`;
}
