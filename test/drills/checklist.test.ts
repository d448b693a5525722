import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChecklistError, loadChecklists, substitute } from '../../src/drills/checklist.js';
import { repoRoot } from '../cluster/launcher.js';

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'wekube-drills-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function problems(files: Record<string, string>): string[] {
  try {
    loadChecklists(dirWith(files), '/');
  } catch (error) {
    if (error instanceof ChecklistError) return error.problems;
    throw error;
  }
  throw new Error('the checklists loaded');
}

describe('drill checklists', () => {
  it('ships the six drills of SPEC §7, each valid', () => {
    const shipped = loadChecklists(resolve(repoRoot, 'config/drills'));
    expect([...shipped.keys()].sort()).toEqual(['apiserver-vip-failover', 'control-plane-leader-failover', 'etcd-backup-restore', 'etcd-member-loss', 'harbor-failover', 'node-failure']);
    for (const checklist of shipped.values()) {
      expect(checklist.rto).toBeGreaterThan(0);
      expect(checklist.steps.some((step) => step.fault)).toBe(true);
      expect(checklist.steps.some((step) => step.recovery)).toBe(true);
    }
  });

  it('names the file, the line and the problem', () => {
    const found = problems({
      'broken.yaml': ['title: Broken', 'steps:', '  - id: one', '    title: First', '    check: { type: nodez }', ''].join('\n'),
      'params.yaml': ['title: Params', 'steps:', '  - id: two', '    title: Second', '    instructions: do it', '    check: { type: nodes, readdy: true }', ''].join('\n'),
    });
    expect(found).toContainEqual(expect.stringMatching(/broken\.yaml:5: steps\[0\]\.check\.type: must be one of nodes, deployment/));
    expect(found).toContainEqual(expect.stringMatching(/params\.yaml:6: steps\[0\]\.check: unknown parameter "readdy"/));
  });

  it('refuses a step with nothing to do, a duplicate id, a fault without recovery and unknown keys', () => {
    const found = problems({
      'a.yaml': ['title: A', 'rto: 5m', 'steps:', '  - id: x', '    title: X', '    fault: true', '    instructions: go', '  - id: x', '    title: Y', '    colour: red', ''].join('\n'),
    });
    const text = found.join('\n');
    expect(text).toMatch(/a\.yaml:8: steps\[1\]: a step needs instructions/);
    expect(text).toMatch(/a\.yaml:10: steps\[1\]: unknown key "colour"/);
    expect(text).toMatch(/step id "x" is used twice/);
    expect(text).toMatch(/this fault step has no recovery step after it/);
  });

  it('reports bad YAML and a drill defined twice', () => {
    expect(problems({ 'bad.yaml': 'title: [unclosed\n' }).join('\n')).toMatch(/bad\.yaml:\d+: not valid YAML/);
    const twice = problems({ 'one.yaml': 'name: same\ntitle: A\nsteps: [{ id: a, title: A, instructions: x }]\n', 'two.yaml': 'name: same\ntitle: B\nsteps: [{ id: a, title: A, instructions: x }]\n' });
    expect(twice.join('\n')).toMatch(/two\.yaml: drill "same" is also defined in .*one\.yaml/);
  });

  it('leaves values with ${variables} to be checked at drill start, and substitutes lists whole', () => {
    const loaded = loadChecklists(dirWith({ 'v.yaml': 'title: V\nsteps: [{ id: a, title: "Node ${node}", check: { type: http, urls: "${members}", failing: "${down}" } }]\n' }));
    expect(loaded.get('v')!.steps[0]!.check!.type).toBe('http');
    expect(substitute({ urls: '${members}', title: 'node ${node}', list: ['${members}', 'x'] }, { members: ['a', 'b'], node: 'n1' })).toEqual({ urls: ['a', 'b'], title: 'node n1', list: ['a', 'b', 'x'] });
  });
});
