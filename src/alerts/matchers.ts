// Alertmanager-style label matchers: `name op value` with op one of = != =~ !~, the value quoted ("...", '...')
// or bare, several matchers separated by spaces or commas, optionally inside {...}. Regular expressions are
// anchored at both ends, as Alertmanager anchors them, and run on RE2 (re2js), as Alertmanager's Go regexp does:
// the same syntax, and matching in time linear in the label's length, so no pattern a user types can stall the
// bot (JavaScript's backtracking RegExp takes seconds on `(a+)+$` and thirty characters).
import { RE2JS } from 're2js';
import { own } from '../config/own.js';

export type MatchOperator = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  operator: MatchOperator;
  value: string;
}

export class MatcherError extends Error {
  constructor(
    readonly input: string,
    readonly problem: 'syntax' | 'regex' | 'empty',
  ) {
    super(`${problem}: ${input}`);
    this.name = 'MatcherError';
  }
}

const MATCHER = /^([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*([\s\S]*)$/;

/** Splits on spaces and commas outside quotes. */
function split(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quote) {
      current += char;
      if (char === '\\' && i + 1 < text.length) current += text[++i];
      else if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'") {
      current += char;
      quote = char;
    } else if (char === ' ' || char === ',') {
      if (current) parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  if (quote) throw new MatcherError(text, 'syntax');
  if (current) parts.push(current);
  return parts;
}

function unquote(raw: string, whole: string): string {
  const first = raw[0];
  if (first !== '"' && first !== "'") {
    // "app==x" is a typo, not the value "=x".
    if (/["'{}]/.test(raw) || /^[=~!]/.test(raw)) throw new MatcherError(whole, 'syntax');
    return raw;
  }
  if (raw.length < 2 || raw[raw.length - 1] !== first) throw new MatcherError(whole, 'syntax');
  const body = raw.slice(1, -1);
  if (first === "'") return body.replace(/\\(['\\])/g, '$1');
  try {
    return JSON.parse(`"${body}"`) as string;
  } catch {
    throw new MatcherError(whole, 'syntax');
  }
}

/** Parses one or more matchers; throws MatcherError naming the first bad one. */
export function parseMatchers(text: string): Matcher[] {
  let body = text.trim();
  if (body.startsWith('{') && body.endsWith('}')) body = body.slice(1, -1).trim();
  if (!body) throw new MatcherError(text, 'empty');
  return split(body).map((part) => {
    const match = MATCHER.exec(part);
    if (!match) throw new MatcherError(part, 'syntax');
    const matcher: Matcher = { name: match[1]!, operator: match[2] as MatchOperator, value: unquote(match[3]!, part) };
    if (matcher.value.length > MAX_VALUE) throw new MatcherError(part.slice(0, 60), 'syntax');
    if (matcher.operator === '=~' || matcher.operator === '!~') {
      try {
        compiled(matcher.value);
      } catch {
        throw new MatcherError(part, 'regex');
      }
    }
    return matcher;
  });
}

/** Longer values are refused: a matcher is typed, not pasted from a file. */
const MAX_VALUE = 1024;

const regexCache = new Map<string, RE2JS>();
const compiled = (source: string): RE2JS => {
  let regex = regexCache.get(source);
  if (!regex) {
    regex = RE2JS.compile(source);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(source, regex);
  }
  return regex;
};

/** Does a label set satisfy every matcher? A missing label counts as the empty string. */
export function matches(matchers: readonly Matcher[], labels: Record<string, string>): boolean {
  return matchers.every(({ name, operator, value }) => {
    const actual = own(labels, name) ?? '';
    switch (operator) {
      case '=':
        return actual === value;
      case '!=':
        return actual !== value;
      case '=~':
        return compiled(value).testExact(actual);
      case '!~':
        return !compiled(value).testExact(actual);
    }
  });
}

/** The canonical text of matchers, as they would be typed again. */
export function formatMatchers(matchers: readonly Matcher[]): string {
  return matchers.map(({ name, operator, value }) => `${name}${operator}${/^[A-Za-z0-9_.:\-/]+$/.test(value) ? value : JSON.stringify(value)}`).join(' ');
}
