/**
 * A record's own value for a key that came from input (a label, an app name, a role): `record[key]` would find
 * `constructor` or `__proto__` on Object.prototype, and a plain object written through such a key pollutes it.
 */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
