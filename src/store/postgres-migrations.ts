/**
 * The PostgreSQL schema, one entry per version, applied at start-up under an advisory lock (postgres-client.ts).
 * The tables match the embedded ones in migrations.ts, written in PostgreSQL's types: BIGINT for times in ms and
 * ids, TEXT for JSON, INTEGER 0/1 for flags. Never edit an entry that has shipped: add one.
 */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  `
  -- The audit log (see chat/audit.ts): append-only, bounded by its newest ids.
  CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY,
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
    id BIGSERIAL PRIMARY KEY,
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
    deadline BIGINT NOT NULL,
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
    epoch BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
  );
  `,
  `
  -- Every accepted callback by dedup key (see wecom/inbox.ts): every replica accepts into it.
  CREATE TABLE inbox (
    key TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('received', 'started', 'done')),
    message TEXT
  );
  CREATE INDEX inbox_by_state ON inbox (state, at);
  -- Who took an alert group (see alerts/claims.ts).
  CREATE TABLE alert_claims (
    group_id TEXT PRIMARY KEY,
    alertname TEXT NOT NULL,
    app TEXT NOT NULL,
    claimed_by TEXT NOT NULL,
    claimed_at BIGINT NOT NULL,
    since BIGINT NOT NULL
  );
  -- WeCom app cards that may be updated later (see wecom/cards.ts).
  CREATE TABLE wecom_cards (
    task_id TEXT PRIMARY KEY,
    ref TEXT NOT NULL,
    user_id TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    code TEXT,
    code_at BIGINT
  );
  CREATE INDEX wecom_cards_by_ref ON wecom_cards (ref);
  CREATE INDEX wecom_cards_by_age ON wecom_cards (sent_at);
  `,
  `
  -- The AI bot's live messages and their response_url (see wecom/aibot.ts).
  CREATE TABLE aibot_streams (
    id TEXT PRIMARY KEY,
    msg_id TEXT NOT NULL UNIQUE,
    content TEXT NOT NULL,
    finished INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    response_url TEXT,
    responded INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX aibot_streams_by_age ON aibot_streams (created_at);
  `,
  `
  -- Drill runs (see drills/runs.ts): at most one active run per environment, whichever replica starts it.
  CREATE TABLE drill_runs (
    id BIGSERIAL PRIMARY KEY,
    drill TEXT NOT NULL,
    environment TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at BIGINT,
    data TEXT NOT NULL
  );
  CREATE UNIQUE INDEX drill_runs_one_active ON drill_runs (environment) WHERE status IN ('running', 'paused');
  CREATE INDEX drill_runs_by_drill ON drill_runs (drill, started_at);
  -- Drill schedules that fired: when, and whether the reminder went out.
  CREATE TABLE drill_schedules (key TEXT PRIMARY KEY, fired_minute TEXT NOT NULL, due_at BIGINT NOT NULL, reminded INTEGER NOT NULL DEFAULT 0);
  `,
  `
  -- The outbox queue (see wecom/outbox.ts). recipient_seq numbers each recipient's messages.
  CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    recipient TEXT NOT NULL,
    target TEXT NOT NULL,
    msgtype TEXT NOT NULL,
    content TEXT NOT NULL,
    urgent INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before BIGINT NOT NULL DEFAULT 0,
    first_error_at BIGINT,
    last_error TEXT,
    recipient_seq INTEGER NOT NULL
  );
  CREATE TABLE outbox_recipients (recipient TEXT PRIMARY KEY, seq INTEGER NOT NULL);
  CREATE TABLE outbox_sent (id BIGSERIAL PRIMARY KEY, recipient TEXT NOT NULL, at BIGINT NOT NULL);
  CREATE INDEX outbox_sent_by_age ON outbox_sent (at);
  CREATE TABLE outbox_keys (key TEXT PRIMARY KEY, at BIGINT NOT NULL);
  CREATE INDEX outbox_keys_by_age ON outbox_keys (at);
  CREATE TABLE outbox_failed (id BIGSERIAL PRIMARY KEY, entry TEXT NOT NULL, reason TEXT NOT NULL, at BIGINT NOT NULL);
  -- Alert state by fingerprint and the batches waiting for recipients (see alerts/engine.ts).
  CREATE TABLE alerts (
    fingerprint TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    last_seen BIGINT NOT NULL,
    data TEXT NOT NULL,
    group_id TEXT
  );
  CREATE INDEX alerts_by_status ON alerts (status, last_seen);
  CREATE INDEX alerts_by_group ON alerts (group_id, status);
  CREATE TABLE alert_batches (
    id BIGSERIAL PRIMARY KEY,
    recipient_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    data TEXT NOT NULL,
    flushing INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX alert_batches_by_due ON alert_batches (due_at);
  CREATE TABLE alert_recipients (key TEXT PRIMARY KEY, recipient TEXT NOT NULL, last_immediate BIGINT);
  `,
  `
  -- Who is changing an app in an environment right now (see chat/change-locks.ts): renewed while the change runs,
  -- free again once it ends or its process has been gone for the lock's time to live (by the database's clock).
  CREATE TABLE change_locks (
    environment TEXT NOT NULL,
    app TEXT NOT NULL,
    user_id TEXT NOT NULL,
    text TEXT NOT NULL,
    since BIGINT NOT NULL,
    owner TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (environment, app)
  );
  `,
  `
  -- A flush's claim holds its time (ms), so a claim that never finished goes stale (see alerts/engine.ts).
  ALTER TABLE alert_batches ALTER COLUMN flushing TYPE BIGINT;
  `,
  `
  -- Each alert's environment (its env or environment label) and when it started (ms), so the firing groups that a
  -- chat command lists are counted by the database from an index, not by reading every alert (see alerts/engine.ts).
  -- Rows stored before get theirs when the engine opens. The index serves a group's alerts too (status is firing or
  -- resolved), so the one by group alone goes: an alert's write keeps the same number of indexes.
  ALTER TABLE alerts ADD COLUMN env TEXT;
  ALTER TABLE alerts ADD COLUMN since BIGINT;
  CREATE INDEX alerts_firing_groups ON alerts (status, group_id, env, since);
  DROP INDEX alerts_by_group;
  `,
];
