import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

export const REGISTRY_BINARY = process.env.REGISTRY_BINARY ?? '/usr/bin/docker-registry';

export interface RunningRegistry {
  /** host:port, as an image reference names it. */
  host: string;
  url: string;
  /** Pushes a small image (one config blob, no layers) as repository:tag through the distribution API. */
  push(repository: string, tag: string): Promise<void>;
  stop(): Promise<void>;
}

/** The CNCF distribution registry from Debian's docker-registry, on loopback, without auth. */
export async function startRegistry(): Promise<RunningRegistry> {
  if (!existsSync(REGISTRY_BINARY)) throw new Error(`${REGISTRY_BINARY} is missing: apt-get install docker-registry (.ci/run does)`);
  const dir = mkdtempSync(join(tmpdir(), 'wekube-registry-'));
  const port = await freePort();
  const config = { version: 0.1, log: { level: 'error' }, storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true } }, http: { addr: `127.0.0.1:${port}` } };
  writeFileSync(join(dir, 'config.yml'), stringify(config));
  const child = spawn(REGISTRY_BINARY, ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/v2/`).catch(() => undefined))?.status === 200, 15_000, 'registry ready');

  return {
    host: `127.0.0.1:${port}`,
    url,
    push: (repository, tag) => pushImage(url, repository, tag),
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** Pushes a small image (one config blob, no layers) as repository:tag to the registry at `url`, through the distribution API. */
export async function pushImage(url: string, repository: string, tag: string): Promise<void> {
  const configBlob = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: {} }));
  const digest = `sha256:${createHash('sha256').update(configBlob).digest('hex')}`;
  const start = await fetch(`${url}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  const location = new URL(start.headers.get('location')!, url);
  location.searchParams.set('digest', digest);
  const done = await fetch(location, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: configBlob });
  if (done.status !== 201) throw new Error(`blob upload answered ${done.status}`);
  const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest, size: configBlob.length }, layers: [] };
  const response = await fetch(`${url}/v2/${repository}/manifests/${tag}`, { method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: JSON.stringify(manifest) });
  if (response.status !== 201) throw new Error(`manifest push to ${url} answered ${response.status}: ${await response.text()}`);
}
