import type { CheckType } from './kit.js';
import { deployment } from './deployment.js';
import { http } from './http.js';
import { images } from './images.js';
import { apiserverLeases, leader } from './leases.js';
import { nodes } from './nodes.js';
import { drained, pods } from './pods.js';
import { readyz } from './readyz.js';
import { marker, writes } from './writes.js';

/** Every check a checklist step may name, by `type`. Adding one is a file here and a line below. */
export const CHECKS = { nodes, deployment, pods, drained, leader, apiserverLeases, readyz, http, images, writes, marker };

export type CheckTypeName = keyof typeof CHECKS;

export const isCheckType = (name: string): name is CheckTypeName => Object.hasOwn(CHECKS, name);

export function checkOf(name: string): CheckType<unknown> {
  if (!isCheckType(name)) throw new Error(`no check type ${name}`);
  return CHECKS[name] as CheckType<unknown>;
}

/** Problems with a check's parameters; values that hold ${variables} are checked once the variables are known. */
export function paramProblems(name: string, params: Record<string, unknown>): { key?: string; message: string }[] {
  const result = checkOf(name).params.safeParse(params);
  if (result.success) return [];
  return result.error.issues
    .filter((issue) => {
      const key = issue.path[0];
      return !(typeof key === 'string' && JSON.stringify(params[key] ?? '').includes('${'));
    })
    .map((issue) => ({
      key: issue.path.length > 0 ? issue.path.map(String).join('.') : issue.code === 'unrecognized_keys' ? undefined : undefined,
      message: issue.code === 'unrecognized_keys' ? `unknown parameter ${issue.keys.map((key) => `"${key}"`).join(', ')}` : issue.message,
    }));
}
