import { distance } from 'fastest-levenshtein';
import { own } from '../config/own.js';

// The image registry an app's image lives in (Harbor, or any OCI distribution registry), asked before a deploy
// whether the tag exists: `HEAD /v2/<name>/manifests/<tag>`, and `GET /v2/<name>/tags/list` for `tags`. Basic
// credentials, and the bearer-token exchange Harbor and Docker Hub answer a 401 with.

export interface RegistrySettings {
  /** Where the registry answers; default https://<host>. */
  url?: string;
  username?: string;
  password?: string;
  /** Refuse a deploy when the registry cannot be asked (default: warn and go on). */
  required: boolean;
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** "harbor.example.com/shop/order-service" → the registry host and the repository in it. */
export function splitImage(image: string): { host: string; repository: string } {
  const slash = image.indexOf('/');
  const first = slash > 0 ? image.slice(0, slash) : '';
  // Docker's rule: the first part is a registry when it has a dot or a port, or is localhost.
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost')) return { host: first, repository: image.slice(slash + 1) };
  return { host: 'docker.io', repository: image.includes('/') ? image : `library/${image}` };
}

export type TagCheck = { found: true } | { found: false; nearest: string[] } | { unknown: true; reason: string };

export class RegistryError extends Error {}

export class Registries {
  constructor(
    private readonly settings: Record<string, RegistrySettings>,
    private readonly timeoutMs = 5_000,
  ) {}

  /** The settings of the image's registry; registries not configured are not asked. */
  for(image: string): RegistrySettings | undefined {
    return own(this.settings, splitImage(image).host);
  }

  async checkTag(image: string, tag: string): Promise<TagCheck> {
    const settings = this.for(image);
    if (!settings) return { unknown: true, reason: 'not configured' };
    try {
      const response = await this.#request(image, settings, `manifests/${encodeURIComponent(tag)}`, 'HEAD');
      if (response.status === 200) return { found: true };
      if (response.status === 404) {
        const tags = await this.tags(image).catch(() => []);
        return { found: false, nearest: [...tags].sort((a, b) => distance(tag, a) - distance(tag, b)).slice(0, 5) };
      }
      return { unknown: true, reason: `HTTP ${response.status}` };
    } catch (error) {
      return { unknown: true, reason: reasonOf(error) };
    }
  }

  /**
   * Whether `registry` (a host under `registries:`, whose url and credentials apply) holds the image's repository at
   * this tag: a replica holds the same repositories under its own host.
   */
  async holds(registry: string, image: string, tag: string): Promise<TagCheck> {
    const settings = own(this.settings, registry) ?? { required: false };
    const { repository } = splitImage(image);
    try {
      const response = await this.#request(`${registry}/${repository}`, settings, `manifests/${encodeURIComponent(tag)}`, 'HEAD');
      if (response.status === 200) return { found: true };
      if (response.status === 404) return { found: false, nearest: [] };
      return { unknown: true, reason: `HTTP ${response.status}` };
    } catch (error) {
      return { unknown: true, reason: reasonOf(error) };
    }
  }

  /** The repository's tags, newest-looking first (natural order, descending). */
  async tags(image: string): Promise<string[]> {
    const settings = this.for(image);
    if (!settings) throw new RegistryError('not configured');
    const response = await this.#request(image, settings, 'tags/list?n=1000', 'GET');
    if (response.status === 404) return [];
    if (response.status !== 200) throw new RegistryError(`HTTP ${response.status}`);
    const body = (await response.json()) as { tags?: string[] | null };
    return (body.tags ?? []).sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  }

  async #request(image: string, settings: RegistrySettings, path: string, method: 'GET' | 'HEAD'): Promise<Response> {
    const { host, repository } = splitImage(image);
    const url = `${(settings.url ?? `https://${host}`).replace(/\/$/, '')}/v2/${repository}/${path}`;
    const basic = settings.username ? `Basic ${Buffer.from(`${settings.username}:${settings.password ?? ''}`).toString('base64')}` : undefined;
    const send = (authorization?: string) =>
      fetch(url, { method, headers: { accept: MANIFEST_TYPES, ...(authorization ? { authorization } : {}) }, signal: AbortSignal.timeout(this.timeoutMs) });
    let response = await send(basic);
    const challenge = response.headers.get('www-authenticate') ?? '';
    if (response.status === 401 && /^bearer /i.test(challenge)) {
      await response.body?.cancel();
      response = await send(`Bearer ${await this.#token(challenge, basic)}`);
    }
    return response;
  }

  /** The token service of a Bearer challenge (realm, service, scope), asked with the basic credentials. */
  async #token(challenge: string, basic: string | undefined): Promise<string> {
    const fields = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1]!.toLowerCase(), match[2]!]));
    if (!fields.realm) throw new RegistryError('the registry asked for a token without a realm');
    const url = new URL(fields.realm);
    if (fields.service) url.searchParams.set('service', fields.service);
    if (fields.scope) url.searchParams.set('scope', fields.scope);
    const response = await fetch(url, { headers: basic ? { authorization: basic } : {}, signal: AbortSignal.timeout(this.timeoutMs) });
    if (!response.ok) throw new RegistryError(`token service answered HTTP ${response.status}`);
    const body = (await response.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError('token service gave no token');
    return token;
  }
}

export function reasonOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if ((error as Error).name === 'TimeoutError') return 'timed out';
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
