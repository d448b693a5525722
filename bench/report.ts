import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** Nearest-rank percentile. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Prints one benchmark's figures as aligned lines; with `json`, also writes bench/results/<json.name>.json with the
 * machine it ran on, so README's figures can be traced to a run.
 */
export function report(title: string, figures: Record<string, string | number>, json?: { name: string } & Record<string, unknown>): void {
  const width = Math.max(...Object.keys(figures).map((key) => key.length));
  process.stdout.write(`\n${title}\n`);
  for (const [key, value] of Object.entries(figures)) process.stdout.write(`  ${key.padEnd(width)}  ${value}\n`);
  if (!json) return;
  const directory = new URL('./results/', import.meta.url);
  mkdirSync(directory, { recursive: true });
  const machine = { cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, at: new Date().toISOString() };
  writeFileSync(new URL(`${json.name}.json`, directory), `${JSON.stringify({ title, machine, figures, ...json }, null, 2)}\n`);
}
