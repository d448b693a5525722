import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

let built = false;

/**
 * wekube as production runs it: `node dist/src/main.js` (built once per benchmark run), with the given config.
 * Resolves when it listens; `--cpu-prof` goes in when BENCH_PROF names a directory.
 */
export async function startWekubeProcess(configFile: string): Promise<{ child: ChildProcess; url: string; stop(): Promise<void> }> {
  if (!built) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
    built = true;
  }
  const profile = process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [];
  const child = spawn(process.execPath, [...profile, 'dist/src/main.js'], { env: { ...process.env, WEKUBE_CONFIG: configFile, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const record = JSON.parse(line) as { msg?: string; url?: string };
      if (record.msg === 'wekube is listening') resolve(record.url!);
    });
    child.once('exit', (code) => reject(new Error(`wekube exited with ${code}`)));
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
