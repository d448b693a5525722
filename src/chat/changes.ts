import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { Address, Conversation, LiveReply } from '../channel/port.js';
import type { Clock } from '../clock/clock.js';
import type { Fence, SqlClient } from '../store/sql.js';
import type { Access } from './access.js';
import { ChangeLocks, type Lock } from './change-locks.js';
import { markAudited, type AppState, type AuditLog } from './audit.js';
import type { ArgValues, ChangePlan, Command, CommandContext, Notify } from './command.js';
import { joinList, type MessageKey, type Params } from './i18n.js';
import { PendingChanges, type StoredChange } from './pending-changes.js';
import { msg, UserError, type Block, type Reply, type Text, type Tone } from './reply.js';

/**
 * Where mutating commands go after their plan: one change at a time per app and environment; in a protected
 * environment a preview and a code first, `confirm <code>` by the requester within two minutes, then (with
 * `approvals: N`) N approvals by other users allowed to approve; every step in the audit log.
 */

export const CONFIRM_WINDOW_MS = 2 * 60_000;
export const APPROVAL_WINDOW_MS = 30 * 60_000;

export interface PendingChange {
  code: string;
  command: string;
  args: ArgValues;
  text: string;
  environment: string;
  app: string;
  requester: string;
  createdAt: number;
  /** Until when the current step (confirmation, then approvals) may happen. */
  deadline: number;
  state: 'confirm' | 'approve';
  approvalsNeeded: number;
  approvals: string[];
  summary: Text;
  preview: Block[];
  before?: AppState;
  after?: AppState;
  /** Where the requester asked (or confirmed): what happens to the change later is told there. */
  conversation?: Conversation;
}

export interface ChangeRequest {
  command: Command;
  args: ArgValues;
  /** The command as typed (normalised), for the audit log and for "who is running what". */
  text: string;
  environment: string;
  plan: ChangePlan;
}

export interface ChangeDeskOptions {
  access: Access;
  audit: AuditLog;
  notify: Notify;
  /** The answer to the requester, where progress and result are one message if the channel can. */
  live: (to: Address) => Promise<LiveReply>;
  logger: Logger;
  /** The context a command runs in for a user (progress goes to that user). */
  contextFor: (userId: string, environment: string) => CommandContext;
  lookup: (name: string) => Command | undefined;
  protectedEnvironment: (environment: string) => { protected: boolean; approvals: number };
  /** Users who may approve in an environment (listed users only). */
  approvers: (environment: string) => string[];
  /** Renews the locks of running changes. */
  clock: Clock;
  /** With several replicas: only the leader starts a change. */
  fence?: Fence;
  now?: () => number;
}

/** A four-digit code; the database refuses one that is taken, and another is drawn. */
const newCode = (): string => String(randomInt(1000, 10_000));

export class ChangeDesk {
  readonly #now: () => number;

  private constructor(
    private readonly pending: PendingChanges,
    private readonly locks: ChangeLocks,
    private readonly options: ChangeDeskOptions,
  ) {
    this.#now = options.now ?? Date.now;
  }

  static async open(sql: SqlClient, options: ChangeDeskOptions): Promise<ChangeDesk> {
    return new ChangeDesk(new PendingChanges(sql), new ChangeLocks(sql, { clock: options.clock, fence: options.fence }), options);
  }

  /** A mutating command whose plan passed: run it now, or ask for confirmation in a protected environment. */
  async request(request: ChangeRequest, context: CommandContext): Promise<Reply> {
    const { environment, plan } = request;
    this.#refuseIfBusy(await this.locks.holder(environment, plan.app), context.user.id);
    const protection = this.options.protectedEnvironment(environment);
    // Run now, in the conversation it was asked in: its progress goes where the asker follows it (a live message).
    if (!protection.protected) return this.#execute(request, context.user.id, undefined, context.progress);

    await this.#expire();
    const change: PendingChange = {
      code: newCode(),
      command: request.command.name,
      args: request.args,
      text: request.text,
      environment,
      app: plan.app,
      requester: context.user.id,
      createdAt: this.#now(),
      deadline: this.#now() + CONFIRM_WINDOW_MS,
      state: 'confirm',
      approvalsNeeded: protection.approvals,
      approvals: [],
      summary: plan.summary,
      preview: plan.preview,
      before: plan.before,
      after: plan.after,
      conversation: context.conversation,
    };
    // One waiting change per app and environment: a second would run on a Deployment the first has already changed.
    for (;;) {
      const created = await this.pending.create(change);
      if (created === 'created') break;
      if (created === 'code-taken') {
        change.code = newCode();
        continue;
      }
      const waiting = await this.pending.forApp(environment, plan.app);
      if (waiting) throw new UserError('change.pendingExists', { user: waiting.requester, text: waiting.text, app: plan.app, env: environment });
    }
    await this.#audit(change, change.requester, 'pending', 'audit.awaitingConfirm');
    const blocks: Block[] = [{ type: 'title', text: plan.summary }, ...plan.preview, { type: 'text', text: msg('change.confirmPrompt', { code: change.code, minutes: CONFIRM_WINDOW_MS / 60_000 }), tone: 'warning' }];
    if (protection.approvals > 0) blocks.push({ type: 'text', text: msg('change.needsApprovals', { count: protection.approvals }), tone: 'muted' });
    return {
      blocks,
      actions: [
        { label: msg('action.confirm'), command: `confirm ${change.code}`, style: 'primary' },
        { label: msg('action.cancel'), command: `cancel ${change.code}`, style: 'danger' },
      ],
    };
  }

  async confirm(code: string, context: CommandContext): Promise<Reply> {
    let change: StoredChange;
    do {
      change = await this.#find(code);
      if (change.requester !== context.user.id) throw new UserError('change.notYours', { code, user: change.requester });
      if (change.state !== 'confirm') throw new UserError('change.alreadyConfirmed', { code, count: change.approvalsNeeded - change.approvals.length });
      if (change.approvalsNeeded === 0) {
        await this.#remove(change);
        return this.#execute(this.#requestOf(change), change.requester, change, context.progress);
      }
      change.conversation = context.conversation ?? change.conversation;
      change.state = 'approve';
      change.deadline = this.#now() + APPROVAL_WINDOW_MS;
      // Saved only if nobody changed it meanwhile; otherwise read again and decide again.
    } while (!(await this.pending.save(change)));
    await this.#audit(change, context.user.id, 'pending', 'audit.awaitingApprovals', { n: change.approvalsNeeded });
    const approvers = this.options.approvers(change.environment).filter((user) => user !== change.requester);
    for (const approver of approvers) {
      await this.options.notify(
        { user: approver },
        {
          urgent: true,
          blocks: [
            { type: 'title', text: msg('change.approvalRequest', { user: change.requester }) },
            { type: 'text', text: change.summary },
            ...change.preview,
            { type: 'text', text: msg('change.approvePrompt', { code: change.code, minutes: APPROVAL_WINDOW_MS / 60_000 }), tone: 'warning' },
          ],
          actions: [
            { label: msg('action.approve'), command: `approve ${change.code}`, style: 'primary' },
            { label: msg('action.reject'), command: `cancel ${change.code}`, style: 'danger' },
          ],
        },
      );
    }
    return {
      blocks: [
        {
          type: 'text',
          text: approvers.length > 0
            ? msg('change.waitingApprovals', { count: change.approvalsNeeded, approvers: joinList(context.locale, approvers) })
            : msg('change.noApprovers', { env: change.environment }),
          tone: approvers.length > 0 ? 'info' : 'warning',
        },
      ],
    };
  }

  async approve(code: string, context: CommandContext): Promise<Reply> {
    const user = context.user;
    let change: StoredChange;
    do {
      change = await this.#find(code);
      if (change.requester === user.id) throw new UserError('change.selfApproval');
      if (!this.options.access.canApprove(user, change.environment)) throw new UserError('change.cannotApprove', { env: change.environment });
      if (change.state !== 'approve') throw new UserError('change.notConfirmedYet', { code, user: change.requester });
      if (change.approvals.includes(user.id)) throw new UserError('change.alreadyApproved', { code });
      change.approvals.push(user.id);
      // Two approvals at once: one saves, the other reads the change again with the first approval in it.
    } while (!(await this.pending.save(change)));
    const remaining = change.approvalsNeeded - change.approvals.length;
    if (remaining > 0) {
      await this.#audit(change, user.id, 'pending', 'audit.approvedMore', { user: user.id, n: remaining });
      return { blocks: [{ type: 'text', text: msg('change.approvedMore', { count: remaining }), tone: 'info' }] };
    }
    await this.#remove(change);
    // The requester follows the run where they asked (progress and the result); the approver gets the result too.
    const follow = await this.options.live(this.#requester(change));
    await follow.progress(this.#told(change, msg('change.approvedRunning', { user: user.id }), 'info'));
    const outcome = await this.#execute(this.#requestOf(change), change.requester, change, (reply) => follow.progress(reply));
    await follow.finish({ ...outcome, urgent: true });
    // A command that reports by other means (a drill announces its steps) leaves the approver a line of its own.
    return outcome.blocks.length > 0 ? outcome : { blocks: [{ type: 'text', text: [msg('change.approvedRan'), change.summary], tone: 'success' }] };
  }

  async cancel(code: string, context: CommandContext): Promise<Reply> {
    const change = await this.#find(code);
    const user = context.user;
    const mayCancel = change.requester === user.id || this.options.access.canApprove(user, change.environment);
    if (!mayCancel) throw new UserError('change.notYours', { code, user: change.requester });
    await this.#remove(change);
    await this.#audit(change, user.id, 'cancelled', user.id === change.requester ? 'audit.cancelledByRequester' : 'audit.rejectedBy', { user: user.id });
    if (user.id !== change.requester) {
      await this.#tellRequester(change, msg('change.rejected', { user: user.id, code }), 'warning');
    }
    return { blocks: [{ type: 'text', text: msg('change.cancelled', { code }), tone: 'muted' }, { type: 'text', text: change.summary }] };
  }

  #requestOf(change: PendingChange): ChangeRequest {
    const command = this.options.lookup(change.command);
    if (!command) throw new Error(`command ${change.command} no longer exists`);
    return {
      command,
      args: change.args,
      text: change.text,
      environment: change.environment,
      plan: { app: change.app, summary: change.summary, preview: change.preview, before: change.before, after: change.after },
    };
  }

  async #find(code: string): Promise<StoredChange> {
    await this.#expire();
    const change = await this.pending.byCode(code);
    if (!change) throw new UserError('change.unknownCode', { code });
    return change;
  }

  /** Takes the change out of the waiting ones; only one caller ever does (two approvers, two replicas). */
  async #remove(change: PendingChange): Promise<void> {
    if (!(await this.pending.remove(change.code))) throw new UserError('change.unknownCode', { code: change.code });
  }

  /** Drops changes whose window passed, and tells their requesters. */
  async #expire(): Promise<void> {
    const expired = await this.pending.expire(this.#now());
    for (const change of expired) {
      await this.#audit(change, change.requester, 'expired', change.state === 'confirm' ? 'audit.notConfirmed' : 'audit.notApproved');
      await this.#tellRequester(change, msg(change.state === 'confirm' ? 'change.expiredConfirm' : 'change.expiredApproval', { code: change.code }), 'warning');
    }
  }

  /** The conversation the requester asked in, or their single chat for changes from before conversations. */
  #requester(change: PendingChange): Address {
    return change.conversation ? { conversation: change.conversation, user: change.requester } : { user: change.requester };
  }

  /** What happened to their change, with the change's summary under it. */
  #told(change: PendingChange, text: Text, tone: Tone): Reply {
    return { urgent: true, blocks: [{ type: 'text', text, tone }, { type: 'text', text: change.summary }] };
  }

  #tellRequester(change: PendingChange, text: Text, tone: Tone): Promise<void> {
    return this.options.notify(this.#requester(change), this.#told(change, text, tone));
  }

  #refuseIfBusy(lock: Lock | undefined, user: string): void {
    if (lock) {
      const minutes = Math.max(1, Math.round((this.#now() - lock.since) / 60_000));
      throw new UserError(lock.user === user ? 'change.busyYou' : 'change.busy', { user: lock.user, text: lock.text, minutes } satisfies Params);
    }
  }

  /** Runs the change as its requester: holds the app's lock for the whole run, audits the outcome. */
  async #execute(request: ChangeRequest, requester: string, pending?: PendingChange, progress?: CommandContext['progress']): Promise<Reply> {
    const { command, environment, plan } = request;
    const lock = await this.locks.acquire(environment, plan.app, { user: requester, text: request.text, since: this.#now() });
    if (!lock.held) {
      this.#refuseIfBusy(lock.busy, requester);
      throw new UserError('error.notLeader');
    }
    const context = this.options.contextFor(requester, environment);
    if (progress) context.progress = progress;
    const details: Parameters<CommandContext['record']>[0] = {};
    context.record = (more) => Object.assign(details, more);
    const base = { user: requester, command: request.text, environment, app: plan.app, before: plan.before, requester: pending?.requester, code: pending?.code, approvals: pending?.approvals };
    try {
      const reply = await command.run(context, request.args, plan);
      await this.options.audit.record({ ...base, result: 'ok', after: plan.after, ...details });
      return reply;
    } catch (error) {
      const refused = error instanceof UserError;
      await this.options.audit.record({ ...base, result: refused ? 'refused' : 'failed', reason: refused ? error.key : (error as Error).message.split('\n')[0], reasonParams: refused ? error.params : undefined, ...details });
      throw markAudited(error);
    } finally {
      await lock.release().catch((error: unknown) => this.options.logger.warn({ err: error, app: plan.app, environment }, 'could not release the change lock; it frees itself when it expires'));
    }
  }

  async #audit(change: PendingChange, user: string, result: 'pending' | 'cancelled' | 'expired', reason: MessageKey, reasonParams?: Params): Promise<void> {
    await this.options.audit.record({
      user,
      command: change.text,
      environment: change.environment,
      app: change.app,
      result,
      reason,
      reasonParams,
      before: change.before,
      after: change.after,
      requester: change.requester,
      code: change.code,
      approvals: change.approvals,
    });
  }
}

