import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

export interface RunningPostgres {
  /** Connection URL of a fresh database for one test file. */
  url: string;
  /** A new empty database on the same server. */
  database(name: string): Promise<string>;
  /** Stops the server (fast shutdown) and keeps its data, for `start` to bring it back. */
  pause(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Debian's PostgreSQL binaries (apt-get install postgresql; .ci/run does): the newest major installed. */
function binDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a)) : [];
  const dir = majors.map((major) => join(root, major, 'bin')).find((candidate) => existsSync(join(candidate, 'postgres')));
  if (!dir) throw new Error(`no PostgreSQL server under ${root}: install Debian's postgresql (apt-get install postgresql; .ci/run does)`);
  return dir;
}

/**
 * PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user the package creates, through
 * util-linux's setpriv, which execs in place (signals reach the server itself).
 */
const asServerUser = (command: string, args: string[]): [string, string[]] =>
  process.getuid?.() === 0 ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]] : [command, args];

/**
 * A real PostgreSQL server from Debian's packages, started by the tests in a temporary directory on a loopback
 * port, trusting local connections; stopped and removed by `stop`.
 */
export async function startPostgres(): Promise<RunningPostgres> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), 'wekube-pg-'));
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) {
    const ids = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
    const gid = execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
    chownSync(dir, Number(ids), Number(gid));
  }
  execFileSync(...asServerUser(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'wekube', '--no-sync', '-E', 'UTF8', '--locale=C']), { stdio: 'pipe' });
  const port = await freePort();
  let child: ChildProcess | undefined;
  let stderr = '';
  const admin = `postgres://wekube@127.0.0.1:${port}/postgres`;

  async function start(): Promise<void> {
    stderr = '';
    const [command, args] = asServerUser(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200']);
    const started = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = started;
    started.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(async () => {
      if (started.exitCode !== null) throw new Error(`postgres exited: ${stderr}`);
      const client = new pg.Client({ connectionString: admin });
      try {
        await client.connect();
        return true;
      } catch {
        return false;
      } finally {
        await client.end().catch(() => {});
      }
    }, 30_000, 'PostgreSQL accepts connections');
  }

  async function pause(): Promise<void> {
    const running = child;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    // SIGINT is PostgreSQL's fast shutdown.
    running.kill('SIGINT');
    await exited;
  }

  let databases = 0;
  async function database(name: string): Promise<string> {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    const db = `${name.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${++databases}`;
    await client.query(`CREATE DATABASE ${db}`);
    await client.end();
    return `postgres://wekube@127.0.0.1:${port}/${db}`;
  }

  await start();
  return {
    url: await database('wekube'),
    database,
    pause,
    start,
    async stop() {
      await pause();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
