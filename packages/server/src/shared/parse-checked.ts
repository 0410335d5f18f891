/** What a compiled TypeBox schema offers: a type guard. */
export interface Checker<T> {
  Check(value: unknown): value is T;
}

/**
 * Parses JSON from another node or a peer and checks it with a compiled schema: the typed value,
 * or undefined when it does not parse or match. Never throws.
 */
export function parseChecked<T>(check: Checker<T>, json: string): T | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  return check.Check(value) ? value : undefined;
}
