import { describe, expect, it } from 'vitest';
import { formatMatchers, matches, MatcherError, parseMatchers } from '../../src/alerts/matchers.js';

describe('Alertmanager-style matchers', () => {
  it('parses the four operators with bare, double- and single-quoted values', () => {
    expect(parseMatchers('app=order severity=~"warning|critical" team!=db env!~\'dev.*\'')).toEqual([
      { name: 'app', operator: '=', value: 'order' },
      { name: 'severity', operator: '=~', value: 'warning|critical' },
      { name: 'team', operator: '!=', value: 'db' },
      { name: 'env', operator: '!~', value: 'dev.*' },
    ]);
  });

  it('accepts braces, commas and escaped quotes, as Alertmanager writes them', () => {
    expect(parseMatchers('{alertname="A, B", summary="say \\"hi\\""}')).toEqual([
      { name: 'alertname', operator: '=', value: 'A, B' },
      { name: 'summary', operator: '=', value: 'say "hi"' },
    ]);
  });

  it('matches like Alertmanager: anchored regexes, a missing label is empty', () => {
    const m = parseMatchers('severity=~"warn|crit"');
    expect(matches(m, { severity: 'crit' })).toBe(true);
    expect(matches(m, { severity: 'critical' })).toBe(false);
    expect(matches(parseMatchers('team=""'), {})).toBe(true);
    expect(matches(parseMatchers('team!=""'), {})).toBe(false);
  });

  it('refuses what it cannot read, naming the matcher', () => {
    for (const [text, problem] of [['app==x', 'syntax'], ['app', 'syntax'], ['1app=x', 'syntax'], ['a="open', 'syntax'], ['a=~"("', 'regex'], ['  ', 'empty']] as const) {
      try {
        parseMatchers(text);
        throw new Error(`accepted ${text}`);
      } catch (error) {
        expect(error).toBeInstanceOf(MatcherError);
        expect((error as MatcherError).problem).toBe(problem);
      }
    }
  });

  it('formats matchers so they parse back to the same', () => {
    const m = parseMatchers('alertname="Etcd No Leader" app=etcd severity=~"a|b"');
    expect(formatMatchers(m)).toBe('alertname="Etcd No Leader" app=etcd severity=~"a|b"');
    expect(parseMatchers(formatMatchers(m))).toEqual(m);
  });

  it('matches a catastrophic-backtracking pattern in linear time (RE2), and refuses what RE2 cannot run', () => {
    const evil = parseMatchers('a=~"(a+)+$"');
    for (let length = 20; length <= 5_000; length *= 2) expect(matches(evil, { a: `${'a'.repeat(length)}b` })).toBe(false);
    expect(matches(evil, { a: 'a'.repeat(100_000) })).toBe(true);
    expect(() => parseMatchers('a=~"x(?=y)"')).toThrow(MatcherError);
    expect(() => parseMatchers(`a="${'x'.repeat(2000)}"`)).toThrow(MatcherError);
  });

  it('never reaches Object.prototype through a label name', () => {
    expect(matches(parseMatchers('constructor=""'), {})).toBe(true);
    expect(matches(parseMatchers('toString=~".+"'), {})).toBe(false);
  });
});
