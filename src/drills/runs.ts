import { UserError, type Text } from '../chat/reply.js';
import { fenced, isUniqueViolation, type Fence, type SqlClient } from '../store/sql.js';
import type { GuardItem } from './checklist.js';
import type { ResolvedCheck } from './runner.js';

export type StepStatus = 'pending' | 'before' | 'waiting' | 'checking' | 'passed' | 'failed' | 'skipped';
export type RunStatus = 'running' | 'paused' | 'passed' | 'failed' | 'aborted';

export interface StepRecord {
  id: string;
  title: string;
  status: StepStatus;
  /** When the step became the current one. */
  startedAt?: number;
  /** When the human answered it (done, fail, skip). */
  answeredAt?: number;
  /** When the check now running (precondition or check) began: its limit counts from here, across restarts. */
  checkStartedAt?: number;
  endedAt?: number;
  by?: string;
  note?: string;
  /** The last thing its check saw; the precondition's evidence is kept apart. */
  evidence?: Text;
  beforeEvidence?: Text;
  /** What the check compares with (the lease holder when the step began). */
  baseline?: unknown;
  figures?: Record<string, number>;
}

export interface FaultClock {
  /** The step that made the fault and the one that recovered it. */
  fault: string;
  recovery?: string;
  faultAt: number;
  recoveredAt?: number;
  /** Guard items broken on purpose while this fault lasts. */
  tolerates: GuardItem[];
}

/** The fault still open, if any: its tolerated guard items hold until it recovers. */
export const openFault = (run: DrillRun): FaultClock | undefined => run.faults.find((clock) => clock.recoveredAt === undefined);

export interface DrillRun {
  id: number;
  drill: string;
  title: string;
  environment: string;
  status: RunStatus;
  startedBy: string;
  startedAt: number;
  endedAt?: number;
  endedBy?: string;
  /** Why it was aborted or stopped, or which step failed it. */
  reason?: string;
  params: Record<string, string>;
  /** The variables its checks and texts were resolved with (the environment's drillVars and the params). */
  vars: Record<string, string | string[]>;
  current: number;
  steps: StepRecord[];
  /** Each step's checks with their variables resolved at start. */
  checks: Record<string, { before?: ResolvedCheck; check?: ResolvedCheck }>;
  /** Users who started or answered a step: they hear every step. */
  participants: string[];
  /** One clock per fault: from the fault step to its recovery. */
  faults: FaultClock[];
  rtoMs?: number;
  /** Apps the guard keeps available (the checklist's guard.apps with variables resolved). */
  guardApps: string[];
  /** Per user, the code of the step card they clicked last: their next step card replaces it in place. */
  cards?: Record<string, string>;
  /** Set while the guard has the run paused. */
  guard?: { trippedAt: number; evidence: Text[] };
}

export const isActive = (run: DrillRun): boolean => run.status === 'running' || run.status === 'paused';

/**
 * Drill runs behind one small repository: the runner never reaches into a document. The database holds the rule
 * that an environment has at most one active run (a partial unique index), whichever replica starts it.
 */
export class DrillRuns {
  /** With several replicas, `fence` keeps a deposed leader's late write from landing: it throws instead. */
  constructor(
    private readonly sql: SqlClient,
    private readonly fence?: Fence,
  ) {}

  /** A write under the leader's fence that changed nothing: this replica no longer leads. */
  #led(changed: number): void {
    if (changed === 0) throw new UserError('error.notLeader');
  }

  /** Stores a new run and gives it its id; refuses when the environment already has an active run. */
  async create(run: Omit<DrillRun, 'id'>): Promise<DrillRun | undefined> {
    let inserted: { id: number } | undefined;
    try {
      const fence = fenced(this.fence);
      inserted = await this.sql.get<{ id: number }>(`INSERT INTO drill_runs (drill, environment, status, started_at, data) SELECT ?, ?, ?, ?, ? WHERE ${fence.sql} RETURNING id`, [run.drill, run.environment, run.status, run.startedAt, '{}', ...fence.params]);
    } catch (error) {
      if (isUniqueViolation(error)) return undefined;
      throw error;
    }
    this.#led(inserted ? 1 : 0);
    const created = { ...run, id: inserted!.id };
    await this.save(created);
    return created;
  }

  async save(run: DrillRun): Promise<void> {
    const fence = fenced(this.fence);
    this.#led(await this.sql.run(`UPDATE drill_runs SET status = ?, ended_at = ?, data = ? WHERE id = ? AND ${fence.sql}`, [run.status, run.endedAt ?? null, JSON.stringify(run), run.id, ...fence.params]));
  }

  async get(id: number): Promise<DrillRun | undefined> {
    return parse(await this.sql.get('SELECT data FROM drill_runs WHERE id = ?', [id]));
  }

  async active(): Promise<DrillRun[]> {
    return (await this.sql.all("SELECT data FROM drill_runs WHERE status IN ('running', 'paused') ORDER BY id")).map((row) => parse(row)!);
  }

  async recent(limit: number, drill?: string): Promise<DrillRun[]> {
    const rows = drill ? await this.sql.all('SELECT data FROM drill_runs WHERE drill = ? ORDER BY id DESC LIMIT ?', [drill, limit]) : await this.sql.all('SELECT data FROM drill_runs ORDER BY id DESC LIMIT ?', [limit]);
    return rows.map((row) => parse(row)!);
  }

  async lastOf(drill: string, environment: string): Promise<DrillRun | undefined> {
    return parse(await this.sql.get('SELECT data FROM drill_runs WHERE drill = ? AND environment = ? ORDER BY id DESC LIMIT 1', [drill, environment]));
  }

  async startedSince(drill: string, environment: string, since: number): Promise<boolean> {
    return Number((await this.sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM drill_runs WHERE drill = ? AND environment = ? AND started_at >= ?', [drill, environment, since]))?.n ?? 0) > 0;
  }

  async schedule(key: string): Promise<{ firedMinute: string; dueAt: number; reminded: boolean } | undefined> {
    const row = await this.sql.get<{ firedMinute: string; dueAt: number; reminded: number }>('SELECT fired_minute AS "firedMinute", due_at AS "dueAt", reminded FROM drill_schedules WHERE key = ?', [key]);
    return row && { ...row, reminded: row.reminded === 1 };
  }

  async saveSchedule(key: string, state: { firedMinute: string; dueAt: number; reminded: boolean }): Promise<void> {
    const fence = fenced(this.fence);
    this.#led(
      await this.sql.run(
        `INSERT INTO drill_schedules (key, fired_minute, due_at, reminded) SELECT ?, ?, ?, ? WHERE ${fence.sql} ON CONFLICT (key) DO UPDATE SET fired_minute = excluded.fired_minute, due_at = excluded.due_at, reminded = excluded.reminded`,
        [key, state.firedMinute, state.dueAt, state.reminded ? 1 : 0, ...fence.params],
      ),
    );
  }
}

const parse = (row: unknown): DrillRun | undefined => (row ? (JSON.parse((row as { data: string }).data) as DrillRun) : undefined);
