/** Whether `value` is one of `patterns`: exact, or a prefix when the pattern ends in `*`. */
export function matchesAny(patterns: readonly string[], value: string): boolean {
  return patterns.some((p) => (p.endsWith('*') ? value.startsWith(p.slice(0, -1)) : p === value));
}
