import cron from 'node-cron';
import { z } from 'zod';
import { MatcherError, parseMatchers } from '../alerts/matchers.js';
import { parseDuration } from './duration.js';

// One schema for config/wekube.yaml. Objects are strict so a misspelt key is an error, not silently ignored.

const duration = z
  .string()
  .refine((text) => parseDuration(text) !== undefined, { message: 'must be a duration such as 30s, 5m or 1h30m' })
  .transform((text) => parseDuration(text)!);

const name = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be lower-case letters, digits and "-"');

// WeCom user ids: 1-64 bytes of [0-9A-Za-z_-@.], case-insensitive (wecom-api.md §4.8). Kept lower-case. Every id
// that becomes a recipient passes this: `|` separates recipients in WeCom's touser.
export const WECOM_USER_ID = /^[0-9A-Za-z_\-@.]{1,64}$/;
export const wecomUserId = z
  .string()
  .regex(WECOM_USER_ID, 'must be a WeCom userid (1-64 of A-Z a-z 0-9 _ - @ .)')
  .transform((id) => id.toLowerCase());

const recipient = z.union([
  z.strictObject({ user: wecomUserId }),
  z.strictObject({ chat: z.string().regex(/^[0-9a-zA-Z_-]{1,64}$/, 'must be the chatid of a group chat the app created') }),
  z.strictObject({ robot: z.string().regex(/^[0-9A-Za-z_-]{1,128}$/, 'must be the key of a group robot webhook (the key=… part of its URL)') }),
]);

const role = z.strictObject({
  allow: z.array(z.string()).default([]),
  environments: z.array(z.string()).default(['*']),
  approve: z.boolean().default(false),
});

const environment = z.strictObject({
  context: z.string().optional(),
  namespace: name,
  kubeconfig: z.string().optional(),
  protected: z.boolean().default(false),
  approvals: z.number().int().min(0).max(10).default(0),
  /** Other names users may type after @ (e.g. 生产); the common Chinese ones work without this. */
  aliases: z.array(z.string().min(1)).default([]),
  /** The deadline of one request to the environment's API server (connecting included). */
  requestTimeout: duration.default(10_000),
  /** Values drill checklists use as ${name}: apiserver and etcd addresses, registry hosts, the drill's apps. */
  drillVars: z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]*$/, 'must be a name of letters, digits and _'), z.union([z.string(), z.array(z.string())])).default({}),
});

const replicas = z.union([
  z.number().int().min(0),
  z.object({ default: z.number().int().min(0) }).catchall(z.number().int().min(0)),
]);

const manageMode = z.enum(['template', 'image']);

export const appSchema = z.strictObject({
  image: z.string().min(1, 'must name the image repository, e.g. harbor.example.com/shop/order-service'),
  port: z.number().int().min(1).max(65535).optional(),
  replicas: replicas.default(1),
  minReplicas: z.number().int().min(0).default(0),
  maxReplicas: z.number().int().min(1).default(50),
  owners: z.array(wecomUserId).default([]),
  env: z.record(z.string(), z.string()).default({}),
  args: z.array(z.string()).default([]),
  resources: z.record(z.string(), z.unknown()).optional(),
  probes: z.record(z.string(), z.unknown()).optional(),
  /** Kubernetes marks a rollout failed after this long without progress. */
  progressDeadlineSeconds: z.number().int().min(1).default(600),
  /**
   * How a deploy changes the app: `template` renders the generic template and applies it; `image` changes only the
   * image of one container (kubectl set image). A map gives it per environment. Unset: template for apps wekube
   * created, image for a Deployment it finds that something else created.
   */
  manage: z.union([manageMode, z.object({ default: manageMode }).catchall(manageMode)]).optional(),
  /** The container whose image a deploy in image mode changes; needed when the Deployment has several. */
  container: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a container name').optional(),
  /** Deploy in protected environments even when Argo CD, Flux or an owner reference manages the Deployment. */
  allowExternalOwner: z.boolean().default(false),
});

const route = z.strictObject({
  match: z.string().default(''),
  to: recipient,
});

const schedule = z.strictObject({
  drill: z.string(),
  cron: z.string().refine((expression) => cron.validate(expression), { message: 'must be a cron expression such as "0 10 1 * *" (minute hour day month weekday)' }),
  environment: z.string().optional(),
  to: recipient,
  /** Remind once when the drill has not started this long after it was due (default drills.remindAfter). */
  remindAfter: duration.optional(),
});

export const configSchema = z
  .strictObject({
    locale: z.enum(['zh-CN', 'en']).default('zh-CN'),
    /** Times in replies are shown in this zone. */
    timezone: z
      .string()
      .refine((zone) => {
        try {
          new Intl.DateTimeFormat('en', { timeZone: zone });
          return true;
        } catch {
          return false;
        }
      }, 'must be an IANA time zone such as Asia/Shanghai')
      .default('Asia/Shanghai'),
    defaultEnvironment: z.string().default('test'),
    server: z
      .strictObject({
        port: z.coerce.number().int().min(0).max(65535).default(8080),
        host: z.string().default('0.0.0.0'),
        /** Where people open wekube's pages (`/view/…`); set = digests, urgent batches and drill reports link to them. */
        publicUrl: z.url({ message: 'must be an http(s) URL such as https://wekube.example.com' }).optional(),
      })
      .prefault({}),
    store: z
      .strictObject({
        dataDir: z.string().default('./data'),
        /** Set: the state lives in PostgreSQL and several replicas may run. */
        postgres: z.strictObject({ url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL').optional() }).prefault({}),
      })
      .prefault({}),
    wecom: z
      .strictObject({
        corpId: z.string().min(1).optional(),
        agentId: z.coerce.number().int().positive().optional(),
        secret: z.string().min(1).optional(),
        token: z
          .string()
          .regex(/^[A-Za-z0-9]{1,32}$/, 'must be 1-32 letters or digits (the Token from the WeCom admin console)')
          .optional(),
        aesKey: z
          .string()
          .regex(/^[A-Za-z0-9]{43}$/, 'must be exactly 43 letters or digits (the EncodingAESKey from the WeCom admin console)')
          .optional(),
        apiBase: z.url({ message: 'must be an http(s) URL' }).default('https://qyapi.weixin.qq.com'),
        /** Origin of WeCom's web login (网页授权 OAuth2) for the pages; tests point it at their fake. */
        oauthBase: z.url({ message: 'must be an http(s) URL' }).default('https://open.weixin.qq.com'),
        callbackMaxSkewSeconds: z.coerce.number().int().min(0).default(300),
        messageFormat: z.enum(['markdown', 'text']).default('markdown'),
        /** How long the outbox keeps retrying a message WeCom refuses for a passing reason (outage, -1, 45009). */
        giveUpAfter: duration.default(24 * 3_600_000),
        /** Who is told of messages given up; default: the users whose roles may approve in every environment. */
        reportFailuresTo: z.array(recipient).optional(),
        /** The 智能机器人 (AI bot) in API mode: its callback's own Token and EncodingAESKey turn the group-chat path on. */
        aibot: z
          .strictObject({
            token: z.string().regex(/^[A-Za-z0-9]{1,32}$/, 'must be 1-32 letters or digits (the Token of the AI bot\'s API settings)').optional(),
            aesKey: z.string().regex(/^[A-Za-z0-9]{43}$/, 'must be exactly 43 letters or digits (the EncodingAESKey of the AI bot\'s API settings)').optional(),
          })
          .prefault({}),
      })
      .prefault({}),
    console: z.strictObject({ user: wecomUserId.optional() }).prefault({}),
    access: z
      .strictObject({
        defaultRole: z.string().default('viewer'),
        roles: z.record(z.string(), role).default({
          viewer: { allow: ['help', 'status', 'history', 'subscribe', 'unsubscribe', 'alerts', 'whoami', 'drill', 'claim', 'unclaim'], environments: ['*'], approve: false },
        }),
        users: z.record(z.string(), z.array(z.string())).default({}),
      })
      .prefault({}),
    environments: z.record(name, environment).default({}),
    apps: z.union([z.string(), z.record(name, appSchema)]).default({}),
    templates: z.strictObject({ deployment: z.string().default('templates/deployment.yaml') }).prefault({}),
    /** Image registries (by host, as in the image reference) asked whether a tag exists before a deploy. */
    registries: z
      .record(
        z.string(),
        z.strictObject({
          url: z.url({ message: 'must be an http(s) URL' }).optional(),
          username: z.string().optional(),
          password: z.string().optional(),
          required: z.boolean().default(false),
        }),
      )
      .default({}),
    rollout: z
      .strictObject({
        /** How long wekube follows a rollout before saying "still rolling out; status later". */
        wait: duration.default(10 * 60_000),
        /** At most one progress message per interval while a rollout runs. */
        progressInterval: duration.default(20_000),
      })
      .prefault({}),
    alerts: z
      .strictObject({
        webhookToken: z.string().min(1).optional(),
        digestWindow: duration.default(5 * 60_000),
        /** Tell recipients again of an alert still firing after this long (off when unset). */
        repeatInterval: duration.optional(),
        immediateSeverities: z.array(z.string()).default(['critical', 'high']),
        alertmanagerUrl: z.url({ message: 'must be an http(s) URL' }).optional(),
        routes: z.array(route).default([]),
        employees: z.record(z.string(), wecomUserId).default({}),
      })
      .prefault({}),
    drills: z
      .strictObject({
        dir: z.string().default('drills'),
        /** Who follows every run besides its participants: the team's chat. */
        to: z.array(recipient).default([]),
        schedules: z.array(schedule).default([]),
        remindAfter: duration.default(60 * 60_000),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    const roles = Object.keys(config.access.roles);
    if (!roles.includes(config.access.defaultRole)) {
      ctx.addIssue({
        code: 'custom',
        path: ['access', 'defaultRole'],
        message: `role "${config.access.defaultRole}" is not defined under access.roles (defined: ${roles.join(', ')})`,
      });
    }
    for (const [user, userRoles] of Object.entries(config.access.users)) {
      userRoles.forEach((roleName, index) => {
        if (!roles.includes(roleName)) {
          ctx.addIssue({
            code: 'custom',
            path: ['access', 'users', user, index],
            message: `role "${roleName}" is not defined under access.roles (defined: ${roles.join(', ')})`,
          });
        }
      });
    }
    const environments = Object.keys(config.environments);
    const unknownEnvironment = (name: string, path: (string | number)[]) => {
      if (environments.length > 0 && !Object.hasOwn(config.environments, name)) {
        ctx.addIssue({ code: 'custom', path, message: `environment "${name}" is not defined under environments (defined: ${environments.join(', ')})` });
      }
    };
    for (const [roleName, role] of Object.entries(config.access.roles)) {
      role.environments.forEach((name, index) => name !== '*' && unknownEnvironment(name, ['access', 'roles', roleName, 'environments', index]));
    }
    config.drills.schedules.forEach((schedule, index) => schedule.environment && unknownEnvironment(schedule.environment, ['drills', 'schedules', index, 'environment']));
    if (typeof config.apps !== 'string') {
      for (const [appName, app] of Object.entries(config.apps)) {
        if (typeof app.replicas === 'object') for (const name of Object.keys(app.replicas)) if (name !== 'default') unknownEnvironment(name, ['apps', appName, 'replicas', name]);
        if (typeof app.manage === 'object') for (const name of Object.keys(app.manage)) if (name !== 'default') unknownEnvironment(name, ['apps', appName, 'manage', name]);
      }
    }
    if (environments.length > 0 && !environments.includes(config.defaultEnvironment)) {
      ctx.addIssue({
        code: 'custom',
        path: ['defaultEnvironment'],
        message: `environment "${config.defaultEnvironment}" is not defined under environments (defined: ${environments.join(', ')})`,
      });
    }
    config.alerts.routes.forEach((route, index) => {
      if (!route.match.trim()) return;
      try {
        parseMatchers(route.match);
      } catch (error) {
        if (!(error instanceof MatcherError)) throw error;
        ctx.addIssue({ code: 'custom', path: ['alerts', 'routes', index, 'match'], message: `cannot read the matcher "${error.input}" (${error.problem})` });
      }
    });
    if (typeof config.apps !== 'string') {
      for (const [appName, app] of Object.entries(config.apps)) {
        if (app.minReplicas > app.maxReplicas) {
          ctx.addIssue({
            code: 'custom',
            path: ['apps', appName, 'minReplicas'],
            message: `minReplicas (${app.minReplicas}) is larger than maxReplicas (${app.maxReplicas})`,
          });
        }
      }
    }
  });

export type RawConfig = z.output<typeof configSchema>;
export type AppConfig = z.output<typeof appSchema>;
export type Recipient = z.output<typeof recipient>;

/** A recipient as logs and messages may show it: a robot's key is a secret, so only its first characters. */
export const recipientLabel = (to: Recipient): string => ('robot' in to ? `robot:${to.robot.slice(0, 4)}…` : recipientKey(to));

/** One string per recipient: user:<id>, chat:<id> or robot:<key>. */
export const recipientKey = (to: Recipient): string => ('user' in to ? `user:${to.user}` : 'chat' in to ? `chat:${to.chat}` : `robot:${to.robot}`);
export type EnvironmentConfig = z.output<typeof environment>;
export type RoleConfig = z.output<typeof role>;
