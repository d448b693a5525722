import type { Logger } from 'pino';
import type { AuditLog } from '../chat/audit.js';
import type { Notify } from '../chat/command.js';
import type { Locale } from '../chat/i18n.js';
import { msg, UserError, type Reply, type Text } from '../chat/reply.js';
import type { Clock } from '../clock/clock.js';
import type { Config } from '../config/load.js';
import type { Recipient } from '../config/schema.js';
import type { Clusters } from '../kube/clusters.js';
import type { Registries } from '../kube/registry.js';
import { paramsOf, substitute, variablesOf, type Checklist, type CheckSpec, type GuardItem, type StepSpec } from './checklist.js';
import { checkOf } from './checks/index.js';
import type { CheckContext, CheckResult } from './checks/kit.js';
import { reasonText } from './checks/kit.js';
import { durationText } from '../chat/i18n.js';
import { recoveryText, renderReport, renderStatus, renderStep } from './report.js';
import { isActive, openFault, type DrillRun, type DrillRuns } from './runs.js';

/** A check with its parameters resolved for one run (variables replaced), kept in the run so a restart resumes it. */
export interface ResolvedCheck {
  type: string;
  interval: number;
  limit: number;
  params: Record<string, unknown>;
}

export interface DrillRunnerOptions {
  checklists: Map<string, Checklist>;
  runs: DrillRuns;
  config: Config;
  clusters: Clusters;
  registries: Registries;
  audit: AuditLog;
  notify: Notify;
  clock: Clock;
  logger: Logger;
  /** The address of a run's page (its step timeline) for a recipient, when pages are served. */
  page?: (runId: number, to: Recipient) => string | undefined;
}

export type Answer = 'done' | 'fail' | 'skip';

/**
 * Runs drills: the step state machine, the check loops between human steps, the guard, the report. State is
 * written through the repository at every transition (synchronously, before anyone is told), so a restart
 * resumes every run where it was: waiting steps keep waiting, running checks carry on against their original limit.
 */
export class DrillRunner {
  /** Active runs by id, the same objects the repository saved last. */
  readonly #active = new Map<number, DrillRun>();
  /** Per run: aborts its check loop when the run ends or the step is answered another way. */
  readonly #loops = new Map<number, AbortController>();
  readonly #guards = new Map<number, { timer: { cancel(): void }; failures: number }>();

  constructor(private readonly options: DrillRunnerOptions) {}

  /** Environments where the drill is due by its schedule (set once schedules are wired). */
  due: (drill: string) => Promise<string[]> = async () => [];

  get checklists(): Map<string, Checklist> {
    return this.options.checklists;
  }

  /** After a restart: picks up every active run, its check loop and its guard. */
  async resume(): Promise<void> {
    for (const run of await this.options.runs.active()) {
      this.#active.set(run.id, run);
      const step = run.steps[run.current];
      if (step?.status === 'before' || step?.status === 'checking') this.#startLoop(run, run.current);
      this.#startGuard(run);
      this.options.logger.info({ run: run.id, drill: run.drill, step: step?.id, status: step?.status }, 'drill run resumed after restart');
    }
  }

  stop(): void {
    for (const controller of this.#loops.values()) controller.abort(new Error('stopping'));
    for (const guard of this.#guards.values()) guard.timer.cancel();
    this.#loops.clear();
    this.#guards.clear();
  }

  activeRuns(): DrillRun[] {
    return [...this.#active.values()];
  }

  /** Checks that a drill can start: it exists, its parameters are given, its variables resolve. */
  prepare(name: string, environment: string, params: Record<string, string>): { checklist: Checklist; checks: DrillRun['checks']; guardApps: string[]; variables: Record<string, string | string[]> } {
    const checklist = this.#checklist(name);
    const missing = checklist.params.filter((param) => !Object.hasOwn(params, param) || !params[param]);
    if (missing.length > 0) throw new UserError('drill.missingParams', { drill: name, params: missing.map((param) => `${param}=…`).join(' ') });
    const unknown = Object.keys(params).filter((param) => !checklist.params.includes(param));
    if (unknown.length > 0) throw new UserError('drill.unknownParams', { drill: name, params: unknown.join(', '), known: checklist.params.join(', ') || '—' });
    const settings = this.options.config.environments[environment]!;
    const variables: Record<string, string | string[]> = { ...settings.drillVars, ...params, namespace: settings.namespace, environment };
    const checks: DrillRun['checks'] = {};
    const unresolved = new Set<string>();
    for (const step of checklist.steps) {
      checks[step.id] = {};
      for (const which of ['before', 'check'] as const) {
        const spec = step[which];
        if (!spec) continue;
        for (const name of variablesOf(paramsOf(spec))) if (!Object.hasOwn(variables, name)) unresolved.add(name);
        const resolved = resolve(spec, variables);
        const parsed = checkOf(spec.type).params.safeParse(resolved.params);
        if (!parsed.success && unresolved.size === 0) {
          const issue = parsed.error.issues[0]!;
          throw new UserError('drill.badCheck', { drill: name, step: step.id, problem: `${issue.path.join('.') || spec.type}: ${issue.message}`, file: checklist.file });
        }
        checks[step.id]![which] = { ...resolved, params: parsed.success ? (parsed.data as Record<string, unknown>) : resolved.params };
      }
    }
    if (unresolved.size > 0) throw new UserError('drill.missingVars', { drill: name, env: environment, vars: [...unresolved].join(', ') });
    // Guard apps may name a variable (${criticalApps}); one the environment lacks leaves that entry out.
    const guardApps = (substitute(checklist.guard?.apps ?? [], variables) as string[]).filter((app) => !app.includes('${'));
    return { checklist, checks, guardApps, variables };
  }

  async start(user: string, name: string, environment: string, params: Record<string, string>): Promise<Reply> {
    const { checklist, checks, guardApps, variables } = this.prepare(name, environment, params);
    const now = this.options.clock.now();
    const run = await this.options.runs.create({
      drill: checklist.name,
      title: checklist.title,
      environment,
      status: 'running',
      startedBy: user,
      startedAt: now,
      params,
      vars: variables,
      current: 0,
      steps: checklist.steps.map((step) => ({ id: step.id, title: substitute(step.title, variables) as string, status: 'pending' })),
      checks,
      participants: [user],
      rtoMs: checklist.rto,
      faults: [],
      guardApps,
    });
    if (!run) {
      const other = this.activeRuns().find((candidate) => candidate.environment === environment);
      throw new UserError('drill.busy', { env: environment, drill: other?.drill ?? '?', id: other?.id ?? '?', user: other?.startedBy ?? '?' });
    }
    this.#active.set(run.id, run);
    await this.#audit(run, user, `drill start ${name}`, 'ok');
    this.options.logger.info({ run: run.id, drill: run.drill, environment, user }, 'drill started');
    // Everyone hears of the start first (the starter too), then the first step: the command's own reply stays empty.
    await this.#announce(run, { blocks: [{ type: 'text', text: msg('drill.started', { user, drill: run.drill, title: run.title, env: environment, id: run.id, steps: run.steps.length }), tone: 'info' }] });
    this.#startGuard(run);
    await this.#enter(run, 0, user);
    return { blocks: [] };
  }

  /** The active run a user means: the one in `environment`, else the one they take part in, else the only one. */
  find(user: string, environment: string | undefined): DrillRun {
    const runs = this.activeRuns();
    if (environment) {
      const run = runs.find((candidate) => candidate.environment === environment);
      if (!run) throw new UserError('drill.noneIn', { env: environment });
      return run;
    }
    if (runs.length === 1) return runs[0]!;
    const mine = runs.filter((run) => run.participants.includes(user));
    if (mine.length === 1) return mine[0]!;
    if (runs.length === 0) throw new UserError('drill.none');
    throw new UserError('drill.which', { envs: runs.map((run) => `@${run.environment}`).join(' ') });
  }

  async answer(user: string, environment: string | undefined, answer: Answer, note: string | undefined, cardCode?: string): Promise<Reply> {
    const run = this.find(user, environment);
    if (run.status === 'paused') throw new UserError('drill.paused', { env: run.environment });
    const index = run.current;
    const step = run.steps[index]!;
    const spec = this.#spec(run, index);
    if ((answer === 'fail' || answer === 'skip') && !note) throw new UserError(answer === 'fail' ? 'drill.failNeedsNote' : 'drill.skipNeedsReason', { env: run.environment });
    if (answer === 'done' && step.status !== 'waiting') {
      throw new UserError(step.status === 'before' ? 'drill.stillBefore' : 'drill.stillChecking', { step: step.title });
    }
    this.#join(run, user);
    if (cardCode) run.cards = { ...run.cards, [user]: cardCode };
    const now = this.options.clock.now();
    this.#stopLoop(run.id);
    step.by = user;
    step.answeredAt = now;
    if (note) step.note = note.slice(0, 500);
    await this.#audit(run, user, `drill ${answer} ${step.id}${note ? ` ${note}` : ''}`, answer === 'fail' ? 'failed' : 'ok');
    if (answer === 'fail') {
      step.status = 'failed';
      step.endedAt = now;
      await this.options.runs.save(run);
      await this.#announce(run, { blocks: [{ type: 'text', text: msg('drill.stepFailedBy', { user, step: step.title, note: step.note ?? '' }), tone: 'error' }] });
      await this.#afterFailure(run, index, user);
      return { blocks: [] };
    }
    if (answer === 'skip') {
      step.status = 'skipped';
      step.endedAt = now;
      await this.options.runs.save(run);
      await this.#announce(run, { blocks: [{ type: 'text', text: msg('drill.stepSkipped', { user, step: step.title, note: step.note ?? '' }), tone: 'muted' }] });
      await this.#enter(run, index + 1, user);
      return { blocks: [] };
    }
    if (spec.fault) run.faults.push({ fault: step.id, faultAt: now, tolerates: [...spec.tolerate] });
    const check = run.checks[step.id]?.check;
    if (!check) {
      step.status = 'passed';
      step.endedAt = now;
      await this.options.runs.save(run);
      await this.#announce(run, { blocks: [{ type: 'text', text: msg('drill.stepDone', { user, step: step.title }), tone: 'success' }] });
      await this.#enter(run, index + 1, user);
      return { blocks: [] };
    }
    // The baseline again, now that the human acted: the old leader's last renewal is what a failover is measured from.
    const fresh = await this.#baseline(run, check);
    const rebase = checkOf(check.type).rebase;
    step.baseline = fresh === undefined ? step.baseline : rebase ? rebase(step.baseline, fresh) : fresh;
    step.status = 'checking';
    step.checkStartedAt = this.options.clock.now();
    await this.options.runs.save(run);
    await this.#announce(run, { blocks: [{ type: 'text', text: [msg('drill.checkingAfterDone', { user, step: step.title }), ' ', checkText(this.#locale, check)], tone: 'info' }] });
    this.#startLoop(run, index);
    return { blocks: [] };
  }

  async abort(user: string, environment: string | undefined, reason: string | undefined, emergency = false): Promise<Reply> {
    const run = this.find(user, environment);
    if (emergency && !run.participants.includes(user) && run.startedBy !== user) this.#join(run, user);
    run.reason = emergency ? `emergency stop${reason ? `: ${reason}` : ''}` : reason ?? '';
    await this.#audit(run, user, emergency ? 'drill stop' : `drill abort${reason ? ` ${reason}` : ''}`, 'ok');
    await this.#finish(run, 'aborted', user, emergency);
    return { blocks: [] };
  }

  /** After the guard paused a run: the on-call decides it is safe to go on. */
  async resumeRun(user: string, environment: string | undefined): Promise<Reply> {
    const run = this.find(user, environment);
    if (run.status !== 'paused') throw new UserError('drill.notPaused', { env: run.environment });
    run.status = 'running';
    run.guard = undefined;
    const guard = this.#guards.get(run.id);
    if (guard) guard.failures = 0;
    this.#join(run, user);
    await this.options.runs.save(run);
    await this.#audit(run, user, 'drill resume', 'ok');
    await this.#announce(run, { blocks: [{ type: 'text', text: msg('drill.resumed', { user, env: run.environment }), tone: 'info' }, ...renderStep(run, this.#spec(run, run.current), this.#locale).blocks] });
    return { blocks: [] };
  }

  status(user: string, environment: string | undefined): Reply {
    const run = this.find(user, environment);
    return renderStatus(run, this.options.config, this.options.clock.now());
  }

  async report(id: number | undefined, user: string): Promise<Reply> {
    const run = id !== undefined ? await this.options.runs.get(id) : (await this.options.runs.recent(1))[0];
    if (!run) throw new UserError(id !== undefined ? 'drill.noRun' : 'drill.noRuns', { id: id ?? '' });
    return this.#withPageLink(renderReport(run, this.options.config, this.options.clock.now()), run, { user });
  }

  /** A report with the link to the run's page at its end, for one recipient (as it is when pages are not served). */
  #withPageLink(report: Reply, run: DrillRun, to: Recipient): Reply {
    const url = this.options.page?.(run.id, to);
    return url ? { ...report, blocks: [...report.blocks, { type: 'link', text: msg('drill.openPage'), url }] } : report;
  }

  async history(name: string | undefined): Promise<DrillRun[]> {
    if (name) this.#checklist(name);
    return this.options.runs.recent(10, name);
  }

  // ——— the state machine ———

  /** Makes step `index` the current one: its precondition, its human part, or its check. */
  async #enter(run: DrillRun, index: number, by?: string): Promise<void> {
    if (index >= run.steps.length) return this.#finish(run, undefined, by);
    run.current = index;
    const step = run.steps[index]!;
    const spec = this.#spec(run, index);
    const checks = run.checks[step.id] ?? {};
    step.startedAt = this.options.clock.now();
    if (checks.before) {
      step.status = 'before';
      step.checkStartedAt = step.startedAt;
      await this.options.runs.save(run);
      await this.#announce(run, { blocks: [{ type: 'text', text: [msg('drill.precondition', { step: step.title }), ' ', checkText(this.#locale, checks.before)], tone: 'info' }] });
      this.#startLoop(run, index);
      return;
    }
    await this.#afterPrecondition(run, index, spec);
  }

  async #afterPrecondition(run: DrillRun, index: number, spec: StepSpec): Promise<void> {
    const step = run.steps[index]!;
    const check = run.checks[step.id]?.check;
    if (check) step.baseline = await this.#baseline(run, check);
    if (spec.instructions !== undefined) {
      step.status = 'waiting';
      await this.options.runs.save(run);
      await this.#announce(run, renderStep(run, spec, this.#locale));
      return;
    }
    step.status = 'checking';
    step.checkStartedAt = this.options.clock.now();
    await this.options.runs.save(run);
    await this.#announce(run, { blocks: [{ type: 'text', text: [msg('drill.checkOnly', { n: index + 1, total: run.steps.length, step: step.title }), ' ', checkText(this.#locale, check!)], tone: 'info' }] });
    this.#startLoop(run, index);
  }

  #startLoop(run: DrillRun, index: number): void {
    this.#stopLoop(run.id);
    const controller = new AbortController();
    this.#loops.set(run.id, controller);
    void this.#loop(run, index, controller.signal).catch((error: unknown) => {
      if (!controller.signal.aborted) this.options.logger.error({ err: error, run: run.id }, 'drill check loop failed');
    });
  }

  #stopLoop(runId: number): void {
    this.#loops.get(runId)?.abort(new Error('step answered'));
    this.#loops.delete(runId);
  }

  /** Runs the current step's check every interval until it passes or its limit (counted from checkStartedAt). */
  async #loop(run: DrillRun, index: number, signal: AbortSignal): Promise<void> {
    const { clock } = this.options;
    const step = run.steps[index]!;
    const phase = step.status as 'before' | 'checking';
    const check = run.checks[step.id]![phase === 'before' ? 'before' : 'check']!;
    const deadline = (step.checkStartedAt ?? clock.now()) + check.limit;
    let told = false;
    for (;;) {
      const result = await this.#runCheck(run, check, step.baseline);
      if (signal.aborted || run.current !== index || step.status !== phase || !isActive(run)) return;
      if (phase === 'before') step.beforeEvidence = result.evidence;
      else step.evidence = result.evidence;
      if (result.ok) {
        step.figures = { ...step.figures, ...result.figures };
        return this.#checkPassed(run, index, phase);
      }
      const now = clock.now();
      if (now >= deadline) return this.#checkFailed(run, index, phase);
      await this.options.runs.save(run);
      if (!told) {
        told = true;
        await this.#announce(run, { blocks: [{ type: 'text', text: msg('drill.waiting', { step: step.title, left: durationText(this.#locale, deadline - now) }), tone: 'muted' }, { type: 'text', text: result.evidence, tone: 'muted' }] });
      }
      // Saving and telling took time: the step may have been answered meanwhile, and the next round counts from
      // now, never past the limit.
      if (signal.aborted || run.current !== index || step.status !== phase || !isActive(run)) return;
      const left = deadline - clock.now();
      if (left <= 0) return this.#checkFailed(run, index, phase);
      try {
        await clock.sleep(Math.min(check.interval, left), signal);
      } catch {
        return;
      }
    }
  }

  async #checkPassed(run: DrillRun, index: number, phase: 'before' | 'checking'): Promise<void> {
    const step = run.steps[index]!;
    const spec = this.#spec(run, index);
    const now = this.options.clock.now();
    this.#loops.delete(run.id);
    if (phase === 'before') {
      await this.#announce(run, { blocks: [{ type: 'text', text: [msg('drill.preconditionOk', { step: step.title }), ' ', step.beforeEvidence ?? ''], tone: 'success' }] });
      return this.#afterPrecondition(run, index, spec);
    }
    step.status = 'passed';
    step.endedAt = now;
    // A check-only fault step is the bot's own: the fault starts when its check passes.
    if (spec.fault && !run.faults.some((clock) => clock.fault === step.id)) run.faults.push({ fault: step.id, faultAt: now, tolerates: [...spec.tolerate] });
    const blocks: Reply['blocks'] = [{ type: 'text', text: [msg('drill.checkPassed', { step: step.title }), ' ', step.evidence ?? ''], tone: 'success' }];
    const clock = openFault(run);
    if (spec.recovery && clock) {
      clock.recoveredAt = now;
      clock.recovery = step.id;
      blocks.push({ type: 'text', text: [msg('drill.recoveryIs'), recoveryText(this.#locale, run, clock)], tone: run.rtoMs !== undefined && now - clock.faultAt > run.rtoMs ? 'warning' : 'success' });
    }
    await this.options.runs.save(run);
    await this.#audit(run, 'wekube', `drill check ${step.id}`, 'ok');
    await this.#announce(run, { blocks });
    await this.#enter(run, index + 1);
  }

  async #checkFailed(run: DrillRun, index: number, phase: 'before' | 'checking'): Promise<void> {
    const step = run.steps[index]!;
    const check = run.checks[step.id]![phase === 'before' ? 'before' : 'check']!;
    step.status = 'failed';
    step.endedAt = this.options.clock.now();
    step.note = phase === 'before' ? 'precondition' : 'limit';
    this.#loops.delete(run.id);
    await this.options.runs.save(run);
    await this.#audit(run, 'wekube', `drill check ${step.id}`, 'failed');
    await this.#announce(run, {
      blocks: [{ type: 'text', text: [msg(phase === 'before' ? 'drill.preconditionFailed' : 'drill.checkFailed', { step: step.title, limit: durationText(this.#locale, check.limit) }), ' ', (phase === 'before' ? step.beforeEvidence : step.evidence) ?? ''], tone: 'error' }],
    });
    await this.#afterFailure(run, index);
  }

  async #afterFailure(run: DrillRun, index: number, by?: string): Promise<void> {
    const spec = this.#spec(run, index);
    if (spec.onFail === 'abort') {
      run.reason = run.steps[index]!.title;
      return this.#finish(run, 'failed', by);
    }
    await this.#enter(run, index + 1, by);
  }

  async #finish(run: DrillRun, status: DrillRun['status'] | undefined, by?: string, emergency = false): Promise<void> {
    this.#stopLoop(run.id);
    this.#guards.get(run.id)?.timer.cancel();
    this.#guards.delete(run.id);
    const now = this.options.clock.now();
    for (const step of run.steps) if (step.status === 'before' || step.status === 'checking' || step.status === 'waiting') step.endedAt = now;
    run.status = status ?? (run.steps.some((step) => step.status === 'failed') ? 'failed' : 'passed');
    run.endedAt = now;
    run.endedBy = by;
    await this.options.runs.save(run);
    this.#active.delete(run.id);
    if (status !== 'aborted') await this.#audit(run, by ?? 'wekube', `drill end ${run.drill}`, run.status === 'passed' ? 'ok' : 'failed');
    this.options.logger.info({ run: run.id, drill: run.drill, status: run.status }, 'drill ended');
    if (emergency) await this.#announce(run, { blocks: [{ type: 'title', text: msg('drill.emergencyStop', { user: by ?? '?', env: run.environment }), tone: 'error' }] });
    const report = renderReport(run, this.options.config, now);
    await this.#announce(run, report, (to) => this.#withPageLink(report, run, to));
  }

  // ——— the guard ———

  /** Watches the environment for the whole run; trips after `failures` bad rounds in a row that the step does not expect. */
  #startGuard(run: DrillRun): void {
    const guard = this.options.checklists.get(run.drill)?.guard;
    if (!guard || this.#guards.has(run.id)) return;
    const state = { failures: 0, timer: { cancel() {} } };
    state.timer = this.options.clock.every(guard.interval, async () => {
      if (run.status !== 'running') return;
      const tolerated = new Set<GuardItem>([...(openFault(run)?.tolerates ?? []), ...this.#spec(run, run.current).tolerate]);
      const context = this.#context(run);
      const results: { item: GuardItem; result: CheckResult }[] = [];
      const probe = (type: string, params: Record<string, unknown>) => {
        const check = checkOf(type);
        return check.run(context, check.params.parse(params), undefined).catch((error: unknown) => ({ ok: false, evidence: msg('drill.ev.error', { reason: reasonText(error) }) }));
      };
      if (guard.api && !tolerated.has('api')) results.push({ item: 'api', result: await probe('readyz', { path: '/readyz' }) });
      if (guard.writes && !tolerated.has('writes')) results.push({ item: 'writes', result: await probe('writes', {}) });
      if (!tolerated.has('apps')) for (const app of run.guardApps) results.push({ item: 'apps', result: await probe('deployment', { app }) });
      if (run.status !== 'running' || !this.#active.has(run.id)) return;
      const bad = results.filter((entry) => !entry.result.ok);
      state.failures = bad.length > 0 ? state.failures + 1 : 0;
      if (state.failures < guard.failures) return;
      run.status = 'paused';
      run.guard = { trippedAt: this.options.clock.now(), evidence: bad.map((entry) => entry.result.evidence) };
      await this.options.runs.save(run);
      await this.#audit(run, 'wekube', 'drill guard tripped', 'pending');
      await this.#announce(run, {
        urgent: true,
        blocks: [
          { type: 'title', text: msg('drill.guardTripped', { env: run.environment, drill: run.drill }), tone: 'error' },
          { type: 'list', items: run.guard.evidence },
          { type: 'text', text: msg('drill.guardAsk'), tone: 'warning' },
        ],
        actions: [
          { label: msg('action.resume'), command: `drill resume @${run.environment}`, style: 'primary' },
          { label: msg('action.abort'), command: `drill abort @${run.environment} guard`, style: 'danger' },
        ],
      });
    });
    this.#guards.set(run.id, state);
  }

  // ——— helpers ———

  #checklist(name: string): Checklist {
    const checklist = this.options.checklists.get(name);
    if (!checklist) throw new UserError('drill.unknown', { name, names: [...this.options.checklists.keys()].join(', ') || '—' });
    return checklist;
  }

  /** The step's definition: from the checklist as loaded, else (the file changed under a run) a bare stand-in. */
  #spec(run: DrillRun, index: number): StepSpec {
    const step = run.steps[index]!;
    const found = this.options.checklists.get(run.drill)?.steps.find((candidate) => candidate.id === step.id);
    return found ?? { id: step.id, title: step.title, fault: false, recovery: false, onFail: 'continue', tolerate: [], instructions: '' };
  }

  #context(run: DrillRun): CheckContext {
    const { config, clusters, registries, clock } = this.options;
    return { cluster: clusters.get(run.environment), config, registries, runId: String(run.id), now: () => clock.now() };
  }

  async #runCheck(run: DrillRun, check: ResolvedCheck, baseline: unknown): Promise<CheckResult> {
    try {
      return await checkOf(check.type).run(this.#context(run), check.params, baseline);
    } catch (error) {
      return { ok: false, evidence: msg('drill.ev.error', { reason: reasonText(error) }) };
    }
  }

  async #baseline(run: DrillRun, check: ResolvedCheck): Promise<unknown> {
    const type = checkOf(check.type);
    if (!type.baseline) return undefined;
    try {
      return await type.baseline(this.#context(run), check.params);
    } catch (error) {
      this.options.logger.warn({ run: run.id, check: check.type, err: error }, 'could not take a check baseline');
      return undefined;
    }
  }

  get #locale(): Locale {
    return this.options.config.locale;
  }

  #join(run: DrillRun, user: string): void {
    if (!run.participants.includes(user)) run.participants.push(user);
  }

  /**
   * Tells the run's participants and the drill chat (`drills.to`). A step card (a reply with actions) replaces, for
   * a user who clicked the previous one, the card they clicked: the run's card moves on in place. `per` tailors the
   * reply to one recipient (a page link bound to them).
   */
  async #announce(run: DrillRun, reply: Reply, per: (to: Recipient) => Reply = () => reply): Promise<void> {
    const card = (reply.actions?.length ?? 0) > 0;
    const replacing = card && run.cards && Object.keys(run.cards).length > 0 ? run.cards : undefined;
    if (replacing) {
      run.cards = {};
      await this.options.runs.save(run);
    }
    const recipients: Recipient[] = [...run.participants.map((user) => ({ user })), ...this.options.config.drills.to];
    for (const to of recipients) {
      const replaces = 'user' in to ? replacing?.[to.user] : undefined;
      await this.options.notify(to, { urgent: true, ...per(to), ...(replaces ? { replaces } : {}) }).catch((error: unknown) => this.options.logger.error({ err: error, run: run.id }, 'could not queue a drill message'));
    }
  }

  async #audit(run: DrillRun, user: string, command: string, result: 'ok' | 'failed' | 'pending'): Promise<void> {
    await this.options.audit
      .record({ user, command, environment: run.environment, app: `drill:${run.drill}#${run.id}`, result })
      .catch((error: unknown) => this.options.logger.error({ err: error, run: run.id }, 'could not write the audit log'));
  }
}

function resolve(spec: CheckSpec, variables: Record<string, string | string[]>): ResolvedCheck {
  return { type: spec.type, interval: spec.interval, limit: spec.limit, params: substitute(paramsOf(spec), variables) as Record<string, unknown> };
}

/** "检查 leader（每 3 秒，最长 2 分）" */
export function checkText(locale: Locale, check: ResolvedCheck): Text {
  return msg('drill.checkWhat', { type: check.type, every: durationText(locale, check.interval), limit: durationText(locale, check.limit) });
}
