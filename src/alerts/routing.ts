import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import { own } from '../config/own.js';
import { recipientKey, WECOM_USER_ID, type Recipient } from '../config/schema.js';
import { matches, parseMatchers, type Matcher } from './matchers.js';
import type { Subscriptions } from './subscriptions.js';


/**
 * Owners named by an `owner` label: a WeCom userid, or an employee number (工号) mapped through
 * `alerts.employees`. When WeCom is configured, each userid is checked once with user/get; one WeCom does not
 * know is logged and left out.
 */
export class OwnerDirectory {
  readonly #checked = new Map<string, boolean>();

  constructor(
    private readonly employees: Record<string, string>,
    private readonly logger: Logger,
    private readonly exists?: (userId: string) => Promise<boolean>,
  ) {}

  /** The userid an owner label stands for, if it can be one. */
  resolve(label: string): string | undefined {
    const mapped = own(this.employees, label);
    const userId = mapped ?? (WECOM_USER_ID.test(label) ? label.toLowerCase() : undefined);
    if (!userId) return undefined;
    if (this.#checked.get(userId) === false) return undefined;
    if (!this.#checked.has(userId)) void this.check(userId, mapped ? `employee ${label}` : `owner label ${label}`);
    return userId;
  }

  /** Checks every employee mapping at start-up (in the background; a failure only logs). */
  verifyEmployees(): Promise<void> {
    return Promise.all(Object.entries(this.employees).map(([employee, userId]) => this.check(userId, `alerts.employees.${employee}`))).then(() => undefined);
  }

  async check(userId: string, source: string): Promise<void> {
    if (!this.exists || this.#checked.has(userId)) return;
    this.#checked.set(userId, true);
    try {
      if (!(await this.exists(userId))) {
        this.#checked.set(userId, false);
        this.logger.warn({ userId, source }, 'WeCom has no such user; alerts for it are not routed to it');
      }
    } catch (error) {
      // Unknown, not absent: keep routing, check again later.
      this.#checked.delete(userId);
      this.logger.warn({ userId, source, err: error }, 'could not check a WeCom user');
    }
  }
}

export interface StaticRoute {
  matchers: Matcher[];
  to: Recipient;
}

/** The static routes; their matchers were checked with the config, so this cannot fail. */
export function parseRoutes(config: Config): StaticRoute[] {
  return config.alerts.routes.map((route) => ({ matchers: route.match.trim() ? parseMatchers(route.match) : [], to: route.to }));
}

/** Everyone an alert goes to: subscribers, static routes, the owners of its app, its owner label. */
export function recipientsFor(
  labels: Record<string, string>,
  context: { routes: readonly StaticRoute[]; subscriptions: Subscriptions; config: Config; owners: OwnerDirectory },
): Recipient[] {
  const found = new Map<string, Recipient>();
  const add = (recipient: Recipient) => found.set(recipientKey(recipient), recipient);
  for (const subscription of context.subscriptions.all) if (matches(subscription.matchers, labels)) add({ user: subscription.user });
  for (const route of context.routes) if (matches(route.matchers, labels)) add(route.to);
  const app = labels.app ? own(context.config.apps, labels.app) : undefined;
  for (const owner of app?.owners ?? []) add({ user: owner });
  if (labels.owner) {
    const owner = context.owners.resolve(labels.owner);
    if (owner) add({ user: owner });
  }
  return [...found.values()];
}
