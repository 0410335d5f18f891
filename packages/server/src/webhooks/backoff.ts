/**
 * The delay before retry number `attempt` (1 = the first retry): `initialMs` doubled per
 * attempt, capped at `maxMs`, then spread over its upper half by `random` so that many failed
 * deliveries do not all come back at the same instant.
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const full = Math.min(maxMs, initialMs * 2 ** exponent);
  return Math.round(full / 2 + (full / 2) * random());
}
