import type { Config } from '../config/load.js';
import { own } from '../config/own.js';
import type { RoleConfig } from '../config/schema.js';
import type { Command, User } from './command.js';
import type { MessageKey, Params } from './i18n.js';

export type Decision = { ok: true } | { ok: false; key: MessageKey; params: Params };

/** Who may run what where, from `access:` (SPEC §5). Users not listed get the default role. */
export class Access {
  readonly #users: Map<string, string[]>;

  constructor(private readonly config: Config['access']) {
    this.#users = new Map(Object.entries(config.users).map(([id, roles]) => [id.toLowerCase(), roles]));
  }

  user(id: string): User {
    const userId = id.toLowerCase();
    return { id: userId, roles: this.#users.get(userId) ?? [this.config.defaultRole] };
  }

  #roles(user: User): RoleConfig[] {
    return user.roles.map((name) => own(this.config.roles, name)).filter((role): role is RoleConfig => role !== undefined);
  }

  allows(user: User, command: Pick<Command, 'name' | 'permission' | 'environment'>, environment?: string): Decision {
    const roles = this.#roles(user).filter((role) => role.allow.includes('*') || role.allow.includes(command.permission));
    const params = { roles: user.roles.join(', '), command: command.name };
    if (roles.length === 0) return { ok: false, key: 'error.forbidden', params };
    if (command.environment && environment !== undefined && !roles.some((role) => covers(role.environments, environment))) {
      return { ok: false, key: 'error.forbiddenEnv', params: { ...params, env: environment } };
    }
    return { ok: true };
  }

  canApprove(user: User, environment: string): boolean {
    return this.#roles(user).some((role) => role.approve && covers(role.environments, environment));
  }

  /** Union over the user's roles; '*' when any role allows everything. */
  summary(user: User): { commands: string[] | '*'; environments: string[] | '*'; approve: boolean } {
    const roles = this.#roles(user);
    const union = (lists: string[][]): string[] | '*' => (lists.some((list) => list.includes('*')) ? '*' : [...new Set(lists.flat())]);
    return {
      commands: union(roles.map((role) => role.allow)),
      environments: union(roles.map((role) => role.environments)),
      approve: roles.some((role) => role.approve),
    };
  }
}

const covers = (environments: string[], environment: string) => environments.includes('*') || environments.includes(environment);
