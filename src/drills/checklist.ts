import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../config/duration.js';
import { CHECKS, isCheckType, paramProblems } from './checks/index.js';

/**
 * Drill checklists: YAML files in `drills.dir` (config/drills/), one drill per file, validated at start-up with the
 * file, line and problem named. A step is a human action (it has instructions), a check the bot runs, or both.
 */

const duration = z
  .union([z.string(), z.number()])
  .refine((value) => (typeof value === 'number' ? value >= 0 : parseDuration(value) !== undefined), { message: 'must be a duration such as 5s, 2m or 1h' })
  .transform((value) => (typeof value === 'number' ? value * 1000 : parseDuration(value)!));

const checkSchema = z
  .object({
    type: z.string().refine(isCheckType, { message: `must be one of ${Object.keys(CHECKS).join(', ')}` }),
    /** How often the check runs while it waits to pass. */
    interval: duration.default(3_000),
    /** How long it may take to pass; past this the step fails with the last evidence. */
    limit: duration.default(120_000),
  })
  .catchall(z.unknown());

export const GUARD_ITEMS = ['api', 'writes', 'apps'] as const;
export type GuardItem = (typeof GUARD_ITEMS)[number];

const stepSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][-a-z0-9]*$/, 'must be lower-case letters, digits and "-"'),
    title: z.string().min(1),
    /** What the human does (markdown). A step without instructions is a check the bot runs alone. */
    instructions: z.string().optional(),
    /** A role or a WeCom userid: who should do it (shown, not enforced: anyone allowed to run drills may answer). */
    who: z.string().optional(),
    /** Runs when the step begins, before the human acts: a precondition. */
    before: checkSchema.optional(),
    /** Runs after `done` (or at once for a check-only step) until it passes or its limit. */
    check: checkSchema.optional(),
    /** Marks a fault: time to recovery starts when this step is done (or its check passes, for a check-only step). */
    fault: z.boolean().default(false),
    /** Marks the recovery from the fault before it: the clock stops when this step's check passes. */
    recovery: z.boolean().default(false),
    /** What a failed step does to the run. */
    onFail: z.enum(['abort', 'continue']).default('abort'),
    /** Guard items this step breaks on purpose; on a fault step they stay tolerated until recovery. */
    tolerate: z.array(z.enum(GUARD_ITEMS)).default([]),
  })
  .refine((step) => step.instructions !== undefined || step.check !== undefined, {
    message: 'a step needs instructions (a human step) or a check (a step the bot runs alone), or both',
  });

const guardSchema = z.strictObject({
  /** Readiness of the API through the environment's server address (the VIP). */
  api: z.boolean().default(true),
  /** A canary write (create and delete a ConfigMap) commits. */
  writes: z.boolean().default(true),
  /** Apps (names from `apps:`) that must stay available. */
  apps: z.array(z.string()).default([]),
  interval: duration.default(5_000),
  /** Consecutive failed rounds before the guard pauses the run. */
  failures: z.number().int().min(1).max(20).default(3),
});

export const checklistSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][-a-z0-9]*$/, 'must be lower-case letters, digits and "-"').optional(),
    title: z.string().min(1),
    description: z.string().optional(),
    /** Target time to recovery, for each fault (fault done → its recovery check passed). */
    rto: duration.optional(),
    /** Values given at start, `drill start node-failure node=kwok-node-1`, used in checks as ${name}. */
    params: z.array(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]*$/)).default([]),
    guard: guardSchema.optional(),
    steps: z.array(stepSchema).min(1),
  })
  .superRefine((checklist, ctx) => {
    const seen = new Set<string>();
    checklist.steps.forEach((step, index) => {
      if (seen.has(step.id)) ctx.addIssue({ code: 'custom', path: ['steps', index, 'id'], message: `step id "${step.id}" is used twice` });
      seen.add(step.id);
      if (step.recovery && !step.check) ctx.addIssue({ code: 'custom', path: ['steps', index, 'recovery'], message: 'a recovery step needs a check: recovery is when its check passes' });
    });
    // Faults and recoveries pair up in order: each fault is followed by its recovery (the same step may be both).
    let open: number | undefined;
    checklist.steps.forEach((step, index) => {
      if (step.fault) {
        if (open !== undefined) ctx.addIssue({ code: 'custom', path: ['steps', index, 'fault'], message: `the fault of step "${checklist.steps[open]!.id}" has no recovery step before this fault` });
        open = index;
      }
      if (step.recovery) {
        if (open === undefined) ctx.addIssue({ code: 'custom', path: ['steps', index, 'recovery'], message: 'a recovery step needs a fault step at or before it' });
        open = undefined;
      }
    });
    if (open !== undefined) ctx.addIssue({ code: 'custom', path: ['steps', open, 'fault'], message: 'this fault step has no recovery step after it' });
    if (checklist.rto !== undefined && !checklist.steps.some((step) => step.fault)) ctx.addIssue({ code: 'custom', path: ['rto'], message: 'rto needs a step marked fault: true and one marked recovery: true' });
  });

export type CheckSpec = z.output<typeof checkSchema>;
export type StepSpec = z.output<typeof stepSchema>;
export type Checklist = z.output<typeof checklistSchema> & { name: string; file: string };

export class ChecklistError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ChecklistError';
  }
}

/** Every checklist in `dir` (`*.yaml`, `*.yml`), by name. Throws with every problem of every file. */
export function loadChecklists(dir: string, cwd = process.cwd()): Map<string, Checklist> {
  let files: string[];
  try {
    files = readdirSync(dir).filter((file) => /\.ya?ml$/.test(file)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new ChecklistError([`${relative(cwd, dir) || dir}: cannot read the drills directory (${(error as NodeJS.ErrnoException).code})`]);
  }
  const checklists = new Map<string, Checklist>();
  const problems: string[] = [];
  for (const file of files) {
    const path = join(dir, file);
    const shown = relative(cwd, path) || path;
    try {
      const checklist = parseChecklist(readFileSync(path, 'utf8'), shown, basename(file).replace(/\.ya?ml$/, ''));
      const other = checklists.get(checklist.name);
      if (other) problems.push(`${shown}: drill "${checklist.name}" is also defined in ${other.file}`);
      else checklists.set(checklist.name, checklist);
    } catch (error) {
      if (error instanceof ChecklistError) problems.push(...error.problems);
      else throw error;
    }
  }
  if (problems.length > 0) throw new ChecklistError(problems);
  return checklists;
}

/** One checklist from its YAML text; `shown` names the file in problems. */
export function parseChecklist(text: string, shown: string, fallbackName: string): Checklist {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ChecklistError(doc.errors.map((error) => `${shown}${error.linePos ? `:${error.linePos[0].line}` : ''}: not valid YAML: ${error.message.split('\n')[0]}`));
  }
  const at = (path: (string | number)[]) => lineOf(doc, lines, path);
  const parsed = checklistSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    throw new ChecklistError(parsed.error.issues.map((issue) => {
      const path = issue.path.filter((part): part is string | number => typeof part !== 'symbol');
      const unknown = issue.code === 'unrecognized_keys';
      const message = unknown ? `unknown key ${issue.keys.map((key) => `"${key}"`).join(', ')}` : issue.message;
      return `${shown}${at(unknown ? [...path, issue.keys[0]!] : path)}: ${formatPath(path) || '(top level)'}: ${message}`;
    }));
  }
  const checklist: Checklist = { ...parsed.data, name: parsed.data.name ?? fallbackName, file: shown };
  // Each check's own parameters: names are checked now; values holding ${variables} are checked at `drill start`.
  const problems: string[] = [];
  checklist.steps.forEach((step, index) => {
    for (const which of ['before', 'check'] as const) {
      const check = step[which];
      if (!check) continue;
      for (const problem of paramProblems(check.type, paramsOf(check))) {
        problems.push(`${shown}${at(['steps', index, which, problem.key ?? 'type'])}: steps[${index}].${which}${problem.key ? `.${problem.key}` : ''}: ${problem.message}`);
      }
    }
  });
  if (problems.length > 0) throw new ChecklistError(problems);
  return checklist;
}

/** A check's own parameters (everything but type, interval and limit). */
export function paramsOf(check: CheckSpec): Record<string, unknown> {
  const { type: _type, interval: _interval, limit: _limit, ...params } = check;
  return params;
}

function lineOf(doc: Document, lines: LineCounter, path: (string | number)[]): string {
  for (let length = path.length; length > 0; length--) {
    const prefix = path.slice(0, length);
    const last = prefix[prefix.length - 1];
    const parent = prefix.length === 1 ? doc.contents : doc.getIn(prefix.slice(0, -1), true);
    if (typeof last === 'string' && isMap(parent)) {
      const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === last);
      const range = (pair?.key as { range?: number[] } | undefined)?.range;
      if (range) return `:${lines.linePos(range[0]!).line}`;
    }
    const node = doc.getIn(prefix, true) as { range?: number[] } | undefined;
    if (node?.range) return `:${lines.linePos(node.range[0]!).line}`;
  }
  return '';
}

function formatPath(path: (string | number)[]): string {
  return path.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${part}` : part), '');
}

const VARIABLE = /\$\{([a-zA-Z][a-zA-Z0-9_]*)\}/g;

/** The ${names} a check's parameters use. */
export function variablesOf(value: unknown): string[] {
  const names = new Set<string>();
  const walk = (node: unknown) => {
    if (typeof node === 'string') for (const [, name] of node.matchAll(VARIABLE)) names.add(name!);
    else if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') Object.values(node).forEach(walk);
  };
  walk(value);
  return [...names];
}

/**
 * Replaces ${name} with its value. A string that is only "${name}" takes the value as it is (a list stays a
 * list); inside a longer string the value is joined in as text.
 */
export function substitute(value: unknown, variables: Record<string, string | string[]>): unknown {
  if (typeof value === 'string') {
    const whole = /^\$\{([a-zA-Z][a-zA-Z0-9_]*)\}$/.exec(value);
    if (whole && Object.hasOwn(variables, whole[1]!)) return variables[whole[1]!];
    return value.replace(VARIABLE, (text, name: string) => (Object.hasOwn(variables, name) ? String(variables[name]) : text));
  }
  if (Array.isArray(value)) return value.flatMap((item) => {
    const replaced = substitute(item, variables);
    return typeof item === 'string' && Array.isArray(replaced) ? replaced : [replaced];
  });
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substitute(item, variables)]));
  return value;
}
