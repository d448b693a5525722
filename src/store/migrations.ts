/**
 * The embedded database's schema, one entry per version; a database is brought from its version to the last in
 * one transaction at start-up. Never edit an entry that has shipped: add one.
 */
export const MIGRATIONS: readonly string[] = [
  `
  -- Every accepted callback by dedup key; the message is kept until it is done (see wecom/inbox.ts).
  CREATE TABLE inbox (
    key TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('received', 'started', 'done')),
    message TEXT
  );
  CREATE INDEX inbox_by_state ON inbox (state, at);

  -- The outbox queue (see wecom/outbox.ts). recipient_seq numbers each recipient's messages.
  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient TEXT NOT NULL,
    target TEXT NOT NULL,
    msgtype TEXT NOT NULL,
    content TEXT NOT NULL,
    urgent INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before INTEGER NOT NULL DEFAULT 0,
    first_error_at INTEGER,
    last_error TEXT,
    recipient_seq INTEGER NOT NULL
  );
  CREATE TABLE outbox_recipients (recipient TEXT PRIMARY KEY, seq INTEGER NOT NULL);
  CREATE TABLE outbox_sent (recipient TEXT NOT NULL, at INTEGER NOT NULL);
  CREATE INDEX outbox_sent_by_age ON outbox_sent (at);
  CREATE TABLE outbox_keys (key TEXT PRIMARY KEY, at INTEGER NOT NULL);
  CREATE INDEX outbox_keys_by_age ON outbox_keys (at);
  CREATE TABLE outbox_failed (id INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL);

  -- Alert state by fingerprint and the batches waiting for recipients (see alerts/engine.ts).
  CREATE TABLE alerts (
    fingerprint TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    last_seen INTEGER NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX alerts_by_status ON alerts (status, last_seen);
  CREATE TABLE alert_batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX alert_batches_by_due ON alert_batches (due_at);
  CREATE TABLE alert_recipients (key TEXT PRIMARY KEY, recipient TEXT NOT NULL, last_immediate INTEGER);
  `,
  `
  -- Drill runs (see drills/runs.ts): one row per run, its state as JSON; at most one active run per environment.
  CREATE TABLE drill_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    drill TEXT NOT NULL,
    environment TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    data TEXT NOT NULL
  );
  CREATE UNIQUE INDEX drill_runs_one_active ON drill_runs (environment) WHERE status IN ('running', 'paused');
  CREATE INDEX drill_runs_by_drill ON drill_runs (drill, started_at);
  -- Drill schedules that fired: when, and whether the reminder went out.
  CREATE TABLE drill_schedules (key TEXT PRIMARY KEY, fired_minute TEXT NOT NULL, due_at INTEGER NOT NULL, reminded INTEGER NOT NULL DEFAULT 0);
  `,
  `
  -- Who took an alert group (alertname and app), and when; see alerts/claims.ts.
  CREATE TABLE alert_claims (
    group_id TEXT PRIMARY KEY,
    alertname TEXT NOT NULL,
    app TEXT NOT NULL,
    claimed_by TEXT NOT NULL,
    claimed_at INTEGER NOT NULL,
    since INTEGER NOT NULL
  );
  `,
  `
  -- The AI bot's live messages, while WeCom may poll them (see wecom/aibot.ts): they outlive a restart.
  CREATE TABLE aibot_streams (
    id TEXT PRIMARY KEY,
    msg_id TEXT NOT NULL UNIQUE,
    content TEXT NOT NULL,
    finished INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    response_url TEXT
  );
  CREATE INDEX aibot_streams_by_age ON aibot_streams (created_at);
  `,
  `
  -- Whether a message's response_url was used (it answers once, for an hour): a later answer goes elsewhere.
  ALTER TABLE aibot_streams ADD COLUMN responded INTEGER NOT NULL DEFAULT 0;
  `,
  `
  -- WeCom app cards that may be updated later (see wecom/cards.ts): the send's single-use response code, by task id.
  CREATE TABLE wecom_cards (
    task_id TEXT PRIMARY KEY,
    ref TEXT NOT NULL,
    user_id TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    code TEXT,
    code_at INTEGER
  );
  CREATE INDEX wecom_cards_by_ref ON wecom_cards (ref);
  CREATE INDEX wecom_cards_by_age ON wecom_cards (sent_at);
  -- The alert group (alertname and app) of each alert, so a group's state is one indexed read.
  ALTER TABLE alerts ADD COLUMN group_id TEXT;
  CREATE INDEX alerts_by_group ON alerts (group_id, status);
  `,
  `
  -- The audit log (see chat/audit.ts): append-only, bounded by its newest ids; the same table in PostgreSQL.
  CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user_id TEXT NOT NULL,
    app TEXT,
    environment TEXT,
    result TEXT NOT NULL,
    command TEXT NOT NULL,
    entry TEXT NOT NULL
  );
  CREATE INDEX audit_by_app ON audit (app, environment, id);
  `,
  `
  -- Personal alert subscriptions (see alerts/subscriptions.ts): one per user and set of matchers (canonical JSON).
  CREATE TABLE subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    text TEXT NOT NULL,
    matchers TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (user_id, matchers)
  );
  `,
  `
  -- Protected changes waiting for confirmation or approvals (see chat/pending-changes.ts).
  CREATE TABLE pending_changes (
    code TEXT PRIMARY KEY,
    environment TEXT NOT NULL,
    app TEXT NOT NULL,
    deadline INTEGER NOT NULL,
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (environment, app)
  );
  CREATE INDEX pending_changes_by_deadline ON pending_changes (deadline);
  `,
  `
  -- The leader lease (see store/leadership.ts): who leads, its term, until when (by the database's clock, in ms).
  CREATE TABLE leader (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  `,
  `
  -- A batch the flush has claimed, since when (ms; see alerts/engine.ts): new alerts go to a new batch meanwhile.
  ALTER TABLE alert_batches ADD COLUMN flushing INTEGER NOT NULL DEFAULT 0;
  `,
  `
  -- Who is changing an app in an environment right now (see chat/change-locks.ts): renewed while the change runs,
  -- free again once it ends or its process has been gone for the lock's time to live (by the database's clock).
  CREATE TABLE change_locks (
    environment TEXT NOT NULL,
    app TEXT NOT NULL,
    user_id TEXT NOT NULL,
    text TEXT NOT NULL,
    since INTEGER NOT NULL,
    owner TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (environment, app)
  );
  `,
  `
  -- Each alert's environment (its env or environment label) and when it started (ms), so the firing groups that a
  -- chat command lists are counted by the database from an index, not by reading every alert (see alerts/engine.ts).
  -- Rows stored before get theirs when the engine opens. The index serves a group's alerts too (status is firing or
  -- resolved), so the one by group alone goes: an alert's write keeps the same number of indexes.
  ALTER TABLE alerts ADD COLUMN env TEXT;
  ALTER TABLE alerts ADD COLUMN since INTEGER;
  CREATE INDEX alerts_firing_groups ON alerts (status, group_id, env, since);
  DROP INDEX alerts_by_group;
  `,
];
