// Durations in Prometheus/Alertmanager syntax ("90s", "5m", "1h30m", "2d"), the form ops already type.
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION = /^(?:\d+(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+)(ms|s|m|h|d|w)/g;

/** Milliseconds for a duration string, or undefined when it is not one. */
/** Chinese units as people type them: 2小时, 30分钟, 1天. */
const CHINESE_UNITS: [RegExp, string][] = [
  [/毫秒/g, 'ms'],
  [/(小时|钟头|时)/g, 'h'],
  [/(分钟|分)/g, 'm'],
  [/秒钟?/g, 's'],
  [/[天日]/g, 'd'],
  [/(星期|周)/g, 'w'],
];

export function parseDuration(text: string): number | undefined {
  let trimmed = text.trim();
  for (const [pattern, unit] of CHINESE_UNITS) trimmed = trimmed.replace(pattern, unit);
  if (!DURATION.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART)) total += Number(amount) * UNIT_MS[unit!]!;
  return total;
}

/** "1h30m" for 5_400_000: the shortest form that parses back to the same value. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const parts: string[] = [];
  let rest = ms;
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit]!;
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}ms`);
  return parts.join('');
}
