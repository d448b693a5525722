import type { Collection, Store } from '../store/store.js';

/** What an app looked like before or after a change. */
export interface AppState {
  image?: string;
  replicas?: number;
  revision?: number;
}

export type AuditResult = 'ok' | 'refused' | 'failed' | 'pending' | 'cancelled' | 'expired';

export interface AuditEntry {
  id: number;
  at: string;
  user: string;
  /** The command as typed, after normalisation. */
  command: string;
  environment?: string;
  app?: string;
  result: AuditResult;
  /** Why it was refused or failed, or what it was waiting for. */
  /** A catalog key (with `reasonParams`) when wekube refused or decided; the cluster's words when it failed. */
  reason?: string;
  reasonParams?: Record<string, string | number>;
  before?: AppState;
  after?: AppState;
  /** For a protected change: who asked, the code, who approved. */
  requester?: string;
  code?: string;
  approvals?: string[];
}

const audited = new WeakSet<object>();

/** Marks an error as already in the audit log, so the router does not record it a second time. */
export function markAudited<T>(error: T): T {
  if (typeof error === 'object' && error !== null) audited.add(error);
  return error;
}

export const isAudited = (error: unknown): boolean => typeof error === 'object' && error !== null && audited.has(error);

interface AuditData {
  seq: number;
  entries: AuditEntry[];
}

/**
 * Every command that reads or changes a cluster, refusals included, in the order they happened. Append-only;
 * the oldest entries go beyond `maxEntries` so the file stays bounded.
 */
export class AuditLog {
  private constructor(
    private readonly collection: Collection<AuditData>,
    private readonly options: { maxEntries: number; now: () => number },
  ) {}

  static async open(store: Store, options: { maxEntries?: number; now?: () => number } = {}): Promise<AuditLog> {
    const collection = await store.open<AuditData>('audit', () => ({ seq: 0, entries: [] }));
    return new AuditLog(collection, { maxEntries: options.maxEntries ?? 20_000, now: options.now ?? Date.now });
  }

  /** Resolves once the entry is on disk. */
  async record(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<AuditEntry> {
    const data = this.collection.data;
    // A copy: callers keep mutating their objects (a change's approvals grow), the log must not change with them.
    const full: AuditEntry = { id: ++data.seq, at: new Date(this.options.now()).toISOString(), ...structuredClone(entry) };
    data.entries.push(full);
    if (data.entries.length > this.options.maxEntries) data.entries.splice(0, data.entries.length - this.options.maxEntries);
    await this.collection.save();
    return full;
  }

  /** The newest `count` entries, newest first. */
  recent(count: number, filter?: (entry: AuditEntry) => boolean): AuditEntry[] {
    const entries = filter ? this.collection.data.entries.filter(filter) : this.collection.data.entries;
    return entries.slice(-count).reverse();
  }
}
