import { translate, type Locale } from './i18n.js';
import { textOf, type Reply, type Tone } from './reply.js';

const MARK: Partial<Record<Tone, string>> = { success: '✅ ', warning: '⚠️ ', error: '❌ ' };

/** A Reply as plain text: the console channel, and WeCom when `wecom.messageFormat` is `text`. */
export function renderPlain(reply: Reply, locale: Locale): string {
  const colon = locale === 'zh-CN' ? '：' : ': ';
  const lines: string[] = [];
  for (const block of reply.blocks) {
    switch (block.type) {
      case 'title':
        lines.push(`${MARK[block.tone ?? 'info'] ?? ''}【${textOf(locale, block.text)}】`);
        break;
      case 'text':
        lines.push(`${MARK[block.tone ?? 'info'] ?? ''}${textOf(locale, block.text)}`);
        break;
      case 'fields':
        for (const field of block.fields) lines.push(`${textOf(locale, field.label)}${colon}${textOf(locale, field.value)}`);
        break;
      case 'list':
        for (const item of block.items) lines.push(`• ${textOf(locale, item)}`);
        break;
      case 'entries':
        for (const entry of block.entries) lines.push(`${entry.term} — ${textOf(locale, entry.text)}`);
        break;
      case 'code':
        lines.push(...block.lines);
        break;
      case 'link':
        lines.push(`${textOf(locale, block.text)}${colon}${block.url}`);
        break;
    }
  }
  const hint = actionHint(reply, locale, (command) => command, lines.join('\n'));
  if (hint) lines.push(hint);
  return lines.join('\n');
}

/**
 * Where there are no buttons, the actions become commands to type: "reply confirm 1234 to Confirm". A command the
 * text already tells the reader to send is not said twice.
 */
export function actionHint(reply: Reply, locale: Locale, formatCommand: (command: string) => string, rendered = ''): string {
  return (reply.actions ?? [])
    .filter((action) => !rendered.includes(action.command))
    .map((action) => translate(locale, 'action.hint', { command: formatCommand(action.command), label: textOf(locale, action.label) }))
    .join(locale === 'zh-CN' ? '；' : '; ');
}
