import type { Text } from '../chat/reply.js';
import type { Database } from '../store/database.js';
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

/** Drill runs behind one small repository: the runner never reaches into a document. */
export class DrillRuns {
  readonly #statements;

  constructor(private readonly db: Database) {
    const sql = db.sql;
    this.#statements = {
      insert: sql.prepare('INSERT INTO drill_runs (drill, environment, status, started_at, data) VALUES (?, ?, ?, ?, ?)'),
      update: sql.prepare('UPDATE drill_runs SET status = ?, ended_at = ?, data = ? WHERE id = ?'),
      get: sql.prepare('SELECT data FROM drill_runs WHERE id = ?'),
      active: sql.prepare("SELECT data FROM drill_runs WHERE status IN ('running', 'paused') ORDER BY id"),
      recent: sql.prepare('SELECT data FROM drill_runs ORDER BY id DESC LIMIT ?'),
      recentOf: sql.prepare('SELECT data FROM drill_runs WHERE drill = ? ORDER BY id DESC LIMIT ?'),
      lastOf: sql.prepare('SELECT data FROM drill_runs WHERE drill = ? AND environment = ? ORDER BY id DESC LIMIT 1'),
      startedSince: sql.prepare('SELECT COUNT(*) AS n FROM drill_runs WHERE drill = ? AND environment = ? AND started_at >= ?'),
      schedule: sql.prepare('SELECT fired_minute AS firedMinute, due_at AS dueAt, reminded FROM drill_schedules WHERE key = ?'),
      saveSchedule: sql.prepare(
        'INSERT INTO drill_schedules (key, fired_minute, due_at, reminded) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET fired_minute = excluded.fired_minute, due_at = excluded.due_at, reminded = excluded.reminded',
      ),
    };
  }

  /** Stores a new run and gives it its id; refuses when the environment already has an active run. */
  create(run: Omit<DrillRun, 'id'>): DrillRun | undefined {
    return this.db.transaction(() => {
      if (this.active().some((other) => other.environment === run.environment)) return undefined;
      const id = Number(this.#statements.insert.run(run.drill, run.environment, run.status, run.startedAt, '{}').lastInsertRowid);
      const created = { ...run, id };
      this.save(created);
      return created;
    });
  }

  save(run: DrillRun): void {
    this.db.transaction(() => this.#statements.update.run(run.status, run.endedAt ?? null, JSON.stringify(run), run.id));
  }

  get(id: number): DrillRun | undefined {
    return parse(this.#statements.get.get(id));
  }

  active(): DrillRun[] {
    return this.#statements.active.all().map((row) => parse(row)!);
  }

  recent(limit: number, drill?: string): DrillRun[] {
    return (drill ? this.#statements.recentOf.all(drill, limit) : this.#statements.recent.all(limit)).map((row) => parse(row)!);
  }

  lastOf(drill: string, environment: string): DrillRun | undefined {
    return parse(this.#statements.lastOf.get(drill, environment));
  }

  startedSince(drill: string, environment: string, since: number): boolean {
    return (this.#statements.startedSince.get(drill, environment, since) as { n: number }).n > 0;
  }

  schedule(key: string): { firedMinute: string; dueAt: number; reminded: boolean } | undefined {
    const row = this.#statements.schedule.get(key) as { firedMinute: string; dueAt: number; reminded: number } | undefined;
    return row && { ...row, reminded: row.reminded === 1 };
  }

  saveSchedule(key: string, state: { firedMinute: string; dueAt: number; reminded: boolean }): void {
    this.db.transaction(() => this.#statements.saveSchedule.run(key, state.firedMinute, state.dueAt, state.reminded ? 1 : 0));
  }
}

const parse = (row: unknown): DrillRun | undefined => (row ? (JSON.parse((row as { data: string }).data) as DrillRun) : undefined);
