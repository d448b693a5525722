import type { Locale } from '../chat/i18n.js';
import { actionHint, renderPlain } from '../chat/render-plain.js';
import { textOf, type Reply, type Tone } from '../chat/reply.js';

// App-message markdown is a small subset (wecom-api.md §6.1): headings, bold, links, inline code, quotes and
// <font> in three colours. No lists, no code blocks: lists become bullet lines, code becomes inline code per line.
const COLOR: Partial<Record<Tone, string>> = { success: 'info', warning: 'warning', error: 'warning', muted: 'comment' };

function tinted(text: string, tone: Tone | undefined): string {
  const color = tone && COLOR[tone];
  return color ? `<font color="${color}">${text}</font>` : text;
}

/** Inline code cannot hold a backtick; WeCom has no escape for it. */
const bold = (text: string) => `**${text}**`;
const code = (text: string) => `\`${text.replaceAll('`', "'")}\``;

export function renderMarkdown(reply: Reply, locale: Locale): string {
  const colon = locale === 'zh-CN' ? '：' : ': ';
  const lines: string[] = [];
  for (const block of reply.blocks) {
    switch (block.type) {
      case 'title':
        lines.push(tinted(`**${textOf(locale, block.text)}**`, block.tone));
        break;
      case 'text':
        lines.push(tinted(textOf(locale, block.text, bold), block.tone));
        break;
      case 'fields':
        for (const field of block.fields) lines.push(`${textOf(locale, field.label, bold)}${colon}${textOf(locale, field.value, bold)}`);
        break;
      case 'list':
        for (const item of block.items) lines.push(`• ${textOf(locale, item, bold)}`);
        break;
      case 'entries':
        for (const entry of block.entries) lines.push(`${code(entry.term)} ${textOf(locale, entry.text, bold)}`);
        break;
      case 'code':
        lines.push(...block.lines.map(code));
        break;
      case 'link':
        lines.push(`[${textOf(locale, block.text, bold)}](${block.url})`);
        break;
    }
  }
  const hint = actionHint(reply, locale, code, lines.join('\n'));
  if (hint) lines.push(tinted(hint, 'muted'));
  return lines.join('\n');
}

export type MessageFormat = 'markdown' | 'text';

export function render(reply: Reply, locale: Locale, format: MessageFormat): string {
  return format === 'markdown' ? renderMarkdown(reply, locale) : renderPlain(reply, locale);
}

/**
 * A reply with actions as a `button_interaction` template card (wecom-api.md §4.3): the title on top, the fields
 * as key/value rows (at most 6), the other text below, one button per action (at most 6) whose key is the command
 * it runs. A click comes back as a template_card_event carrying that key.
 */
export function renderCard(reply: Reply, locale: Locale, taskId: string): Record<string, unknown> {
  const title = reply.blocks.find((block) => block.type === 'title');
  const fields = reply.blocks.flatMap((block) => (block.type === 'fields' ? block.fields : []));
  const texts = reply.blocks.flatMap((block) =>
    block.type === 'text' ? [textOf(locale, block.text)]
    : block.type === 'code' ? block.lines
    : block.type === 'list' ? block.items.map((item) => `• ${textOf(locale, item)}`)
    : []);
  const links = reply.blocks.flatMap((block) => (block.type === 'link' ? [block] : []));
  return {
    card_type: 'button_interaction',
    main_title: { title: title ? textOf(locale, title.text) : texts.shift() ?? '' },
    sub_title_text: texts.join('\n'),
    horizontal_content_list: fields.slice(0, 6).map((field) => ({ keyname: textOf(locale, field.label), value: textOf(locale, field.value) })),
    ...(links.length > 0 ? { jump_list: links.slice(0, 3).map((link) => ({ type: 1, title: textOf(locale, link.text), url: link.url })) } : {}),
    task_id: taskId,
    button_list: (reply.actions ?? []).slice(0, 6).map((action) => ({ text: textOf(locale, action.label), style: action.style === 'primary' ? 1 : 2, key: action.command })),
  };
}
