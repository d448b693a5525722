// From what a user typed to tokens (SPEC §4): full-width forms become half-width (NFKC maps Ｈｅｌｐ, ＝, ＠ and
// the ideographic space), Chinese quotes become ASCII ones, runs of spaces collapse and a leading "/" is dropped.

const QUOTES: Record<string, string> = { '“': '"', '”': '"', '‘': "'", '’': "'", '「': '"', '」': '"' };

export function normalize(input: string): string {
  return input
    .normalize('NFKC')
    .replace(/[“”‘’「」]/g, (quote) => QUOTES[quote]!)
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^\/\s*/, '');
}

/**
 * Splits on spaces outside quotes. Quotes stay in the token: matchers such as severity=~"warning|critical"
 * need them; plain arguments drop them with `unquote`.
 */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (const char of text) {
    if (quote) {
      current += char;
      if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'") {
      current += char;
      quote = char;
    } else if (char === ' ') {
      if (current) tokens.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  if (current) tokens.push(current);
  return tokens;
}

export function unquote(token: string): string {
  const first = token[0];
  return token.length >= 2 && (first === '"' || first === "'") && token.endsWith(first) ? token.slice(1, -1) : token;
}

const ENV_TOKEN = /^@([A-Za-z0-9\p{Script=Han}][-A-Za-z0-9\p{Script=Han}]*)$/u;

/** Takes every `@env` token out of the list; the environment names are lower-cased. */
export function extractEnvironments(tokens: string[]): { tokens: string[]; environments: string[] } {
  const environments: string[] = [];
  const rest: string[] = [];
  for (const token of tokens) {
    const match = ENV_TOKEN.exec(token);
    if (match) environments.push(match[1]!.toLowerCase());
    else rest.push(token);
  }
  return { tokens: rest, environments };
}

/** A command is typed, not pasted: longer input is refused before it is parsed. */
export const MAX_COMMAND_CHARS = 2000;

/** What a reply may quote of what the user typed: the start of it, on one line. */
export function excerpt(text: string, max = 40): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}
