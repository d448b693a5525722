import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import cron from 'node-cron';
import { pino, type Logger } from 'pino';
import { AlertmanagerApi } from './alerts/alertmanager-api.js';
import { AlertClaims } from './alerts/claims.js';
import { AlertEngine } from './alerts/engine.js';
import { mountAlertIntake } from './alerts/intake.js';
import { OwnerDirectory, parseRoutes } from './alerts/routing.js';
import { Subscriptions } from './alerts/subscriptions.js';
import { commands as allCommands } from '../commands/index.js';
import type { Command, Notify, Services } from './chat/command.js';
import { Access } from './chat/access.js';
import { AuditLog } from './chat/audit.js';
import { ChangeDesk } from './chat/changes.js';
import { ChatRouter } from './chat/router.js';
import { UserError } from './chat/reply.js';
import { aibotEnabled, ConfigError, WECOM_VARIABLES, wecomEnabled, type Config } from './config/load.js';
import { wireAibot } from './wecom/aibot-wiring.js';
import { Channels } from './channel/channels.js';
import type { Channel } from './channel/port.js';
import { ConsoleChannel, startConsole } from './console/console.js';
import { systemClock, type Clock, type Timer } from './clock/clock.js';
import { createHttpApp, type Readiness } from './http/app.js';
import { createMetrics } from './http/metrics.js';
import { Clusters } from './kube/clusters.js';
import { Registries } from './kube/registry.js';
import { appVariables, configuredReplicas, loadTemplate, render, TemplateError } from './kube/template.js';
import { ChecklistError, loadChecklists } from './drills/checklist.js';
import { DrillRunner, type DrillRunnerOptions } from './drills/runner.js';
import { DrillRuns } from './drills/runs.js';
import { DrillSchedules } from './drills/schedule.js';
import { importLowdbFiles } from './store/lowdb-import.js';
import { openStore } from './store/open.js';
import { ViewAuth, viewKey } from './view/auth.js';
import { mountViews } from './view/routes.js';
import { Leadership } from './store/leadership.js';
import { hostname } from 'node:os';
import type { Fence, SqlClient, Statement } from './store/sql.js';
import { WecomApi } from './wecom/api.js';
import { mountCallback } from './wecom/callback.js';
import { WecomCards } from './wecom/cards.js';
import { WecomChannel } from './wecom/channel.js';
import { CallbackCrypto } from './wecom/crypto.js';
import { Inbox } from './wecom/inbox.js';
import { inboundMessages } from './wecom/inbound.js';
import { Outbox } from './wecom/outbox.js';
import { giveUpReporter } from './wecom/give-up-report.js';

export interface WekubeOptions {
  config: Config;
  logger?: Logger;
  /** A terminal to read commands from when WeCom is off. */
  terminal?: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream };
  /** Called when the terminal closes (Ctrl-D). */
  onTerminalClose?: () => void;
  commands?: readonly Command[];
  /** Time for every timer and window; tests pass one they drive. */
  clock?: Clock;
}

export interface Wekube {
  server: Server;
  url: string;
  logger: Logger;
  /** Stops taking requests, lets running commands finish, and leaves the outbox on disk. */
  stop(): Promise<void>;
}

/** How long an idle client connection is kept: longer than Go's 90 s idle timeout, so the client always closes first. */
export const KEEP_ALIVE_MS = 120_000;

/** The composition root: config → store → channel → router → HTTP. Everything else is wired from here. */
export async function startWekube(options: WekubeOptions): Promise<Wekube> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const now = () => clock.now();
  const logger = options.logger ?? createLogger();
  const metrics = createMetrics();
  const running = new Set<Promise<void>>();
  const stopping: (() => Promise<void>)[] = [];
  const store = await openStore(config);
  const { sql } = store;
  /** What only the leader does, started when it leads and stopped when it no longer does. */
  const duties: { start(): Promise<void>; stop(): Promise<void> }[] = [];
  const leadership = store.backend === 'postgres'
    ? new Leadership(sql, { id: `${hostname()}-${process.pid}`, clock, logger: logger.child({ part: 'leader' }), onChange: (lead) => void setDuties(lead) })
    : undefined;
  const leading = () => leadership?.leading ?? true;
  const fence = leadership ? () => leadership.fence() : undefined;
  // Parts stop in the reverse of their start: the store last.
  stopping.push(() => store.close());
  logger.info({ backend: store.backend, at: (await store.health()).detail }, 'store open');
  const commit = (statements: readonly Statement[]) => sql.batch(statements);
  const mount: Parameters<typeof createHttpApp>[0]['mount'] = [];
  const checks: Record<string, () => { ok: boolean; detail?: string }> = {};
  const access = new Access(config.access);
  /** Listed users who may approve in an environment. */
  const approvers = (environment: string) => Object.keys(config.access.users).filter((id) => access.canApprove(access.user(id), environment));
  /** Ops: who may approve everywhere; they hear of what the bot could not deliver. */
  const admins = () => Object.keys(config.access.users).filter((id) => Object.keys(config.environments).every((environment) => access.canApprove(access.user(id), environment)));

  let proactive: Channel;
  let wecomChannel: WecomChannel | undefined;
  let inbox: Inbox | undefined;
  /** Whether WeCom knows a userid (user/get); only when WeCom is configured. */
  let userExists: ((userId: string) => Promise<boolean>) | undefined;
  let appChats: Services['appChats'];
  if (wecomEnabled(config) || aibotEnabled(config)) {
    // Both WeCom paths (the app and the AI bot) deduplicate and recover their messages through one inbox.
    // A callback stamped up to the skew window ahead of this clock still passes the check twice the window after it came.
    const replayWindowMs = config.wecom.callbackMaxSkewSeconds * 2000;
    const created = await Inbox.open(sql, { retentionMs: Math.max(24 * 3_600_000, replayWindowMs), replayWindowMs, now });
    inbox = created;
    const pruner = clock.every(60_000, () => void created.prune());
    stopping.push(async () => pruner.cancel());
  }
  let wecomApi: WecomApi | undefined;
  if (wecomEnabled(config)) {
    const { wecom } = config;
    const api = new WecomApi({ apiBase: wecom.apiBase, corpId: wecom.corpId, secret: wecom.secret, agentId: wecom.agentId, logger, now });
    wecomApi = api;
    userExists = async (userid) => {
      const answer = await api.call('/cgi-bin/user/get', undefined, { userid });
      if (answer.errcode === 0) return true;
      if ([46004, 60111, 60011, 50002].includes(answer.errcode)) return false;
      throw new Error(`user/get answered errcode ${answer.errcode}`);
    };
    appChats = {
      async create(name, owner, members) {
        const answer = await api.call('/cgi-bin/appchat/create', { name, owner, userlist: members });
        if (answer.errcode !== 0 || typeof answer.chatid !== 'string') throw new UserError('alerts.chatCreateFailed', { errcode: answer.errcode, errmsg: String(answer.errmsg ?? '').split(',')[0]! });
        return answer.chatid;
      },
    };
    const giveUps = giveUpReporter({
      recipients: () => wecom.reportFailuresTo ?? admins().map((user) => ({ user })),
      send: (to, reply) => channels.send(to, reply),
      logger: logger.child({ part: 'outbox' }),
      clock,
    });
    stopping.push(async () => giveUps.stop());
    const cards = new WecomCards(sql, now);
    const outbox = await Outbox.open(sql, {
      fence,
      api,
      logger: logger.child({ part: 'outbox' }),
      clock,
      giveUpAfterMs: wecom.giveUpAfter,
      onSent: (kind) => metrics.outboxSent.inc({ kind }),
      onCardSent: (taskId, code) => cards.sent(taskId, code),
      onGiveUp: (failed) => {
        metrics.outboxFailed.inc();
        giveUps.report(failed);
      },
    });
    metrics.sources.outboxPending = () => outbox.pending;
    wecomChannel = new WecomChannel(outbox, config.locale, wecom.messageFormat, cards);
    proactive = wecomChannel;
    checks.wecom = () => api.tokenState();
    // The leader sends; with PostgreSQL it takes in what other replicas queued (a card updated by a webhook they
    // took). The embedded store has no other writer: what it queues is in its outbox already.
    let syncing: Timer | undefined;
    duties.push({
      async start() {
        await outbox.start();
        if (store.backend === 'postgres') syncing = clock.every(1_000, () => void outbox.sync().catch((error: unknown) => logger.warn({ err: error }, 'outbox could not read what other replicas queued')));
      },
      async stop() {
        syncing?.cancel();
        await outbox.stop();
      },
    });
    const crypto = new CallbackCrypto(wecom.token, wecom.aesKey, wecom.corpId);
    const callbackInbox = inbox!;
    mount.push((router) =>
      mountCallback(router, {
        crypto,
        agentId: wecom.agentId,
        inbox: callbackInbox,
        maxSkewSeconds: wecom.callbackMaxSkewSeconds,
        now,
        logger: logger.child({ part: 'callback' }),
        onMessage: (message) => leading() && track(inbound!.accepted(message)),
        observe: (result, seconds) => {
          metrics.callbacks.inc({ result });
          metrics.callbackSeconds.observe(seconds);
        },
      }),
    );
  } else {
    logger.warn(`WeCom is off: set ${WECOM_VARIABLES.join(', ')} (or the wecom: keys in ${config.file}) to turn it on`);
    const write = options.terminal
      ? (text: string) => void options.terminal!.output.write(text)
      : (text: string) => logger.info({ message: text }, 'WeCom is off; not sent');
    proactive = new ConsoleChannel(write, config.locale, commit);
  }
  // The AI bot answers in the conversations it is asked in; everything else goes through the proactive adapter.
  const aibot = aibotEnabled(config) && inbox
    ? wireAibot({ config, inbox, sql, logger: logger.child({ part: 'aibot' }), clock, mount, metrics, onMessage: (message) => leading() && track(inbound!.accepted(message)) })
    : undefined;
  const channels = new Channels(proactive, aibot ? [aibot] : [], logger.child({ part: 'channels' }), commit);

  const template = checkedTemplate(config);
  const clusters = new Clusters(config);
  // Say at start-up which environments cannot reach a cluster at all, and what to set, rather than at the first command.
  const unusable = clusters.names.filter((environment) => {
    try {
      clusters.get(environment);
      return false;
    } catch (error) {
      logger.warn({ environment, problem: (error as Error).message.split('\n')[0] }, `environment ${environment} has no usable cluster: set environments.${environment}.kubeconfig (and .context), or KUBECONFIG`);
      return true;
    }
  });
  if (clusters.names.length > 0 && unusable.length === clusters.names.length) logger.error('no environment has a usable cluster: cluster commands will fail until a kubeconfig is configured');
  for (const [name, records] of Object.entries(await importLowdbFiles(resolve(config.store.dataDir), sql))) {
    if (records > 0) logger.info({ records }, `${name}.json moved into the database (kept as ${name}.json.imported)`);
  }
  const audit = await AuditLog.open(sql, { now });
  const notify: Notify = (to, reply) => channels.send(to, reply);
  const changes = await ChangeDesk.open(sql, {
    access,
    audit,
    notify,
    live: (to) => channels.live(to),
    logger: logger.child({ part: 'changes' }),
    contextFor: (userId, environment) => router.contextFor(userId, environment),
    lookup: (name) => router.lookup(name),
    protectedEnvironment: (environment) => ({
      protected: config.environments[environment]?.protected ?? false,
      approvals: config.environments[environment]?.approvals ?? 0,
    }),
    approvers,
    clock,
    fence,
    now,
  });
  const pages = viewAuth(config, wecomApi, now, logger);
  const subscriptions = await Subscriptions.open(sql);
  const owners = new OwnerDirectory(config.alerts.employees, logger.child({ part: 'alerts' }), userExists);
  void owners.verifyEmployees();
  const claims = new AlertClaims(sql);
  const alerts = await AlertEngine.open(sql, {
    claims,
    fence,
    config,
    subscriptions,
    owners,
    routes: parseRoutes(config),
    channel: channels,
    logger: logger.child({ part: 'alerts' }),
    now,
    page: pages && ((from, to, recipient) => pages.link(`/view/alerts?from=${from}&to=${to}`, recipient)),
  });
  metrics.sources.alertBatches = async () => (await alerts.size()).batches;
  if (!config.alerts.webhookToken) logger.warn('WEKUBE_ALERT_TOKEN is not set: anyone who can reach /alerts/alertmanager can post alerts');
  mount.push((router) =>
    mountAlertIntake(router, {
      engine: alerts,
      token: config.alerts.webhookToken,
      logger: logger.child({ part: 'alerts' }),
      observe: (result, seconds, ingested) => {
        metrics.alertWebhooks.inc({ result });
        metrics.alertWebhookSeconds.observe(seconds);
        if (ingested) metrics.alertsReceived.inc(ingested.alerts);
      },
    }),
  );
  // Digest windows end on the second; the ticker also sends what a restart left pending.
  // Only the leader sends digests; every replica takes webhooks.
  const ticker = cron.schedule('* * * * * *', () => void (leading() && alerts.tick()), { noOverlap: true });
  stopping.push(async () => {
    await ticker.stop();
    if (leading()) await alerts.tick();
  });
  const alertmanager = config.alerts.alertmanagerUrl ? new AlertmanagerApi(config.alerts.alertmanagerUrl) : undefined;
  const registries = new Registries(config.registries);
  const drills = wireDrills({
    config,
    sql,
    fence,
    clusters,
    registries,
    audit,
    notify,
    clock,
    logger: logger.child({ part: 'drills' }),
    page: pages && ((runId, to) => pages.link(`/view/drills/${runId}`, to)),
  });
  duties.push({ start: () => drills.lead(), stop: async () => drills.stop() });
  if (pages) {
    mount.push((router) =>
      mountViews(router, { config, auth: pages, access, alerts, claims, drills: drills.runs, now, logger: logger.child({ part: 'view' }) }),
    );
  }

  const router: ChatRouter = new ChatRouter({
    config,
    commands: options.commands ?? allCommands,
    access,
    services: { clusters, template, audit, changes, alerts, claims, subscriptions, alertmanager, registries, drills: drills.runner, appChats },
    notify,
    logger: logger.child({ part: 'chat' }),
    now,
    onRun: (command, outcome) => metrics.commands.inc({ command, outcome }),
  });

  function track(work: Promise<void>): void {
    running.add(work);
    void work.finally(() => running.delete(work));
  }

  /** A line typed in the console, answered in the console. */
  async function runText(userId: string, text: string): Promise<void> {
    const conversation = { channel: 'console', kind: 'single', id: userId } as const;
    const live = await channels.live({ conversation, user: userId });
    await live.finish(await router.handle({ userId, text, conversation, progress: (reply) => live.progress(reply) }));
  }

  let stoppingNow = false;
  const inbound = inbox
    ? inboundMessages({ inbox, router, channel: channels, appCards: wecomChannel, locale: config.locale, clock, logger: logger.child({ part: 'inbound' }), stopping: () => stoppingNow })
    : undefined;
  if (inbound) {
    metrics.sources.inboundWaiting = () => inbound.waiting();
    // The leader runs the messages: what a previous leader (or this process before a restart) left, then, with
    // several replicas, what the others accept, as soon as it is stored.
    let polling: Timer | undefined;
    duties.push({
      async start() {
        const { toRun, interrupted } = await inbound.recover();
        for (const message of toRun) track(inbound.handle(message));
        if (toRun.length + interrupted > 0) logger.info({ rerun: toRun.length, interrupted }, 'inbox recovered');
        if (store.backend === 'postgres') {
          polling = clock.every(250, () => void inbox!.received(500, inbound.has).then((accepted) => accepted.forEach((message) => track(inbound.handle(message))), () => {}));
        }
      },
      async stop() {
        polling?.cancel();
      },
    });
  }

  // One leader runs the duties (sending, digests, drills, running messages): with PostgreSQL it is elected through
  // the database; the embedded store has one replica, which leads.
  let dutiesTurn = Promise.resolve();
  const setDuties = (lead: boolean) => {
    dutiesTurn = dutiesTurn.then(async () => {
      for (const duty of lead ? duties : [...duties].reverse()) await (lead ? duty.start() : duty.stop()).catch((error: unknown) => logger.error({ err: error }, lead ? 'a leader duty could not start' : 'a leader duty could not stop'));
    });
    return dutiesTurn;
  };
  if (leadership) await leadership.start();
  else await setDuties(true);
  stopping.push(async () => {
    if (leading()) await setDuties(false);
    await leadership?.stop();
  });

  const readiness = async (): Promise<Readiness> => {
    const results: Readiness['checks'] = { config: { ok: true, detail: config.file } };
    results.store = await store.health();
    // Said, never decided by: readiness by leadership would deadlock a rolling update (reference/ha.md).
    if (leadership) results.leader = { ok: true, detail: leadership.leading ? `leading (term ${leadership.epoch})` : 'standby' };
    for (const [name, check] of Object.entries(checks)) results[name] = check();
    Object.assign(results, await clusters.health());
    // Only the store makes the bot unready: WeCom or a cluster being down degrades it, and /readyz says how.
    return { ready: results.store.ok, checks: results };
  };

  const app = createHttpApp({ logger, metrics, readiness, mount });
  const server = app.listen(config.server.port, config.server.host);
  // Alertmanager (Go's HTTP client) keeps an idle connection for 90 s and sends its next webhook on it. A server that
  // closes it first (Node's default is 5 s) makes that webhook fail with an EOF and a retry, which in a storm adds up.
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  await new Promise<void>((resolveListen, reject) => {
    server.once('listening', resolveListen);
    server.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address}:${address.port}`;
  logger.info({ url, wecom: wecomEnabled(config), locale: config.locale }, 'wekube is listening');

  let terminal: { close(): void } | undefined;
  if (options.terminal && !wecomEnabled(config)) {
    const userId = config.console.user ?? Object.keys(config.access.users)[0] ?? 'console';
    terminal = startConsole({
      router,
      userId,
      locale: config.locale,
      input: options.terminal.input,
      output: options.terminal.output,
      run: runText,
      onClose: () => options.onTerminalClose?.(),
    });
  }

  return {
    server,
    url,
    logger,
    async stop() {
      stoppingNow = true;
      terminal?.close();
      await new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeIdleConnections();
      });
      const deadline = new Promise((resolveDeadline) => setTimeout(resolveDeadline, 10_000).unref());
      await Promise.race([Promise.allSettled([...running]), deadline]);
      // Parts stop in the reverse of their start: the alert ticker before the outbox it feeds.
      for (const stop of [...stopping].reverse()) await stop();
      logger.info('wekube stopped');
    },
  };
}

/** Checklists, the runner (resuming runs a restart interrupted) and the schedules. A bad checklist stops start-up. */
function wireDrills(parts: { config: Config; sql: SqlClient; fence?: Fence; clusters: Clusters; registries: Registries; audit: AuditLog; notify: Notify; clock: Clock; logger: Logger; page?: DrillRunnerOptions['page'] }) {
  const { config, logger } = parts;
  let checklists;
  try {
    checklists = loadChecklists(resolve(config.dir, config.drills.dir));
  } catch (error) {
    if (error instanceof ChecklistError) throw new ConfigError(error.problems);
    throw error;
  }
  for (const [index, schedule] of config.drills.schedules.entries()) {
    if (!checklists.has(schedule.drill)) throw new ConfigError([`${config.file}: drills.schedules[${index}].drill: no checklist "${schedule.drill}" in ${config.drills.dir} (have: ${[...checklists.keys()].join(', ') || 'none'})`]);
  }
  const runs = new DrillRuns(parts.sql, parts.fence);
  const runner = new DrillRunner({ ...parts, checklists, runs });
  const schedules = new DrillSchedules({ config, checklists, runs, notify: parts.notify, clock: parts.clock, logger });
  runner.due = (drill) => schedules.due(drill);
  if (checklists.size > 0) logger.info({ drills: [...checklists.keys()] }, 'drill checklists loaded');
  return {
    runner,
    runs,
    /** Resumes the active runs (their checks and guards) and the schedules, on the leader. */
    async lead() {
      await runner.resume();
      schedules.start();
    },
    stop() {
      schedules.stop();
      runner.stop();
    },
  };
}

/**
 * Who may open the pages (`/view/…`): links signed with a key derived from the WeCom secrets, and WeCom's web login
 * when the self-built app is configured. No secrets, no pages: a link nobody can check would be a link anyone can use.
 */
function viewAuth(config: Config, api: WecomApi | undefined, now: () => number, logger: Logger): ViewAuth | undefined {
  const { wecom, server } = config;
  const key = viewKey([wecom.secret, wecom.aesKey, wecom.aibot.aesKey]);
  if (!key) {
    if (server.publicUrl) logger.warn('server.publicUrl is set but no WeCom secret is configured: pages are off (their links could not be signed)');
    return undefined;
  }
  if (!server.publicUrl) logger.info('server.publicUrl (WEKUBE_PUBLIC_URL) is not set: messages carry no links to the pages');
  const oauth = api && wecom.corpId && wecom.agentId !== undefined ? { base: wecom.oauthBase, corpId: wecom.corpId, agentId: wecom.agentId, api } : undefined;
  return new ViewAuth({ key, now, publicUrl: server.publicUrl, oauth });
}

/** The generic template, rendered once for every app and environment at start-up: a bad one stops start-up. */
function checkedTemplate(config: Config): unknown[] {
  if (Object.keys(config.apps).length === 0) return [];
  try {
    const template = loadTemplate(config);
    for (const [name, app] of Object.entries(config.apps)) {
      for (const [environment, settings] of Object.entries(config.environments)) {
        render(template, appVariables({ name, app, environment, namespace: settings.namespace, tag: 'check', replicas: configuredReplicas(app, environment), changeCause: '' }));
      }
    }
    return template;
  } catch (error) {
    if (error instanceof TemplateError) throw new ConfigError([`${config.file}: templates.deployment: ${error.message}`]);
    throw error;
  }
}

export function createLogger(destination?: NodeJS.WritableStream | number): Logger {
  return pino(
    {
      level: process.env.LOG_LEVEL ?? 'info',
      base: { app: 'wekube' },
      // Defence in depth: no code logs these, and if one ever does they are masked.
      redact: { paths: ['secret', 'token', 'aesKey', 'webhookToken', '*.secret', '*.token', '*.aesKey', '*.webhookToken', 'access_token'], censor: '[redacted]' },
    },
    destination === undefined ? undefined : typeof destination === 'number' ? pino.destination(destination) : (destination as never),
  );
}
