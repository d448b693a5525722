import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

let built = false;

/**
 * wekube as its own process with the given config, resolved once it listens. `source` runs src/main.ts through
 * tsx (tests); `built` runs dist/src/main.js as production does, compiling once per run (benchmarks). With
 * BENCH_PROF naming a directory, the process writes a CPU profile there.
 */
export async function startWekubeProcess(configFile: string, entry: 'source' | 'built' = 'source'): Promise<{ child: ChildProcess; url: string; stop(): Promise<void> }> {
  if (entry === 'built' && !built) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
    built = true;
  }
  const profile = process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [];
  const args = entry === 'built' ? [...profile, 'dist/src/main.js'] : [...profile, '--import', 'tsx', 'src/main.ts'];
  const child = spawn(process.execPath, args, { env: { ...process.env, WEKUBE_CONFIG: configFile, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const record = JSON.parse(line) as { msg?: string; url?: string };
      if (record.msg === 'wekube is listening') resolve(record.url!);
    });
    child.once('exit', (code) => reject(new Error(`wekube exited with ${code} before listening`)));
  });
  return {
    child,
    url,
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** Resident memory of a process in MiB: now (VmRSS) or its peak so far (VmHWM). */
export const memoryMiB = (pid: number, field: 'VmRSS' | 'VmHWM') => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
