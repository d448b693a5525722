/** Nearest-rank percentile. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Prints one benchmark's figures as aligned lines. */
export function report(title: string, figures: Record<string, string | number>): void {
  const width = Math.max(...Object.keys(figures).map((key) => key.length));
  process.stdout.write(`\n${title}\n`);
  for (const [key, value] of Object.entries(figures)) process.stdout.write(`  ${key.padEnd(width)}  ${value}\n`);
}
