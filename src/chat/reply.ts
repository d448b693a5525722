import { translate, type Locale, type MessageKey, type Params } from './i18n.js';

/**
 * The neutral message every command returns. It holds catalog keys, not sentences: each channel's renderer
 * translates and formats it (WeCom markdown or text, console plain text), so commands never know where they speak.
 */
export type Text = string | { key: MessageKey; params?: Params } | { strong: Text } | Text[];

/** Emphasis a renderer shows its own way (bold in WeCom markdown, nothing in plain text). */
export const strong = (text: Text): Text => ({ strong: text });

export type Tone = 'info' | 'success' | 'warning' | 'error' | 'muted';

export type Block =
  | { type: 'title'; text: Text; tone?: Tone }
  | { type: 'text'; text: Text; tone?: Tone }
  | { type: 'fields'; fields: { label: Text; value: Text }[] }
  | { type: 'list'; items: Text[] }
  /** Terms (command lines, names) each with an explanation: rendered as "`term` text". */
  | { type: 'entries'; entries: { term: string; text: Text }[] }
  /** Machine text shown as-is (image names, pod names, command lines). */
  | { type: 'code'; lines: string[] }
  | { type: 'link'; text: Text; url: string };

/** Something the reader can do next: a button where the channel has them, else a command to type. */
export interface Action {
  label: Text;
  /** The command the action runs, as the user would type it. */
  command: string;
  style?: 'primary' | 'danger';
}

export interface Reply {
  blocks: Block[];
  actions?: Action[];
  /** Replies to a command the user is waiting for go before digests in a recipient's queue. */
  urgent?: boolean;
  /**
   * The message this one replaces in place where the channel can (a WeCom card's single-use response code, from
   * the click on it); elsewhere it is sent as a new message.
   */
  replaces?: string;
  /**
   * Names the message (an alert group's card) so later news can update it in place where the channel can
   * (`Channel.update`); where it cannot, the news comes the usual way.
   */
  ref?: string;
}

export const msg = (key: MessageKey, params?: Params): Text => (params ? { key, params } : { key });

export function textReply(key: MessageKey, params?: Params, tone?: Tone): Reply {
  return { blocks: [{ type: 'text', text: msg(key, params), tone }] };
}

/** A refusal or failure a user should read; thrown by commands, rendered by the router. */
export class UserError extends Error {
  constructor(
    readonly key: MessageKey,
    readonly params: Params = {},
    /** Extra blocks shown under the message, such as the usage line. */
    readonly details: Block[] = [],
  ) {
    super(key);
    this.name = 'UserError';
  }
}

/** The text of a Text in a locale. */
export function textOf(locale: Locale, text: Text, emphasise: (text: string) => string = (plain) => plain): string {
  if (typeof text === 'string') return text;
  if (Array.isArray(text)) return text.map((part) => textOf(locale, part, emphasise)).join('');
  if ('strong' in text) return emphasise(textOf(locale, text.strong, emphasise));
  return translate(locale, text.key, text.params);
}
