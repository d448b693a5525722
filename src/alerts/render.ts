import { formatTime, type Locale } from '../chat/i18n.js';
import { cardActions, cardRef } from './card.js';
import { groupId } from './claims.js';
import { own } from '../config/own.js';
import { excerpt } from '../chat/parse.js';
import { msg, strong, type Block, type Reply, type Text } from '../chat/reply.js';

/** What a batch holds for one alertname and app: counts, times, a few examples. */
export interface AlertGroup {
  alertname: string;
  app?: string;
  /** The group that counts what is beyond `maxGroups`. */
  other?: boolean;
  severity: string;
  firing: number;
  resolved: number;
  firstSeen: number;
  lastSeen: number;
  /** Up to SAMPLES examples, newest last. */
  samples: { status: 'firing' | 'resolved'; instance?: string; summary?: string; startsAt: string }[];
  /** Matchers that silence this group (alertname, and app when there is one). */
  silence: string;
}

/** The alerts waiting for one recipient: a digest (until its window ends) or an immediate batch. */
export interface Batch {
  id: number;
  kind: 'digest' | 'immediate';
  recipientKey: string;
  openedAt: number;
  dueAt: number;
  externalURL: string;
  firing: number;
  resolved: number;
  groups: AlertGroup[];
}

export const SAMPLES = 3;
/** Label values come from anywhere: each is shown up to this many characters, so one alert stays one line. */
const LABEL_CHARS = 120;

const clip = (text: string, max = LABEL_CHARS): string => excerpt(text, max);

interface RenderOptions {
  locale: Locale;
  timezone: string;
  /** Whether a reply goes out as one message to the batch's recipient. */
  fits: (reply: Reply) => boolean;
  /**
   * Where the reader can send a command: `here` (a user's chat with the app), `aibot` (a group: by @-mentioning the
   * 智能机器人), `app` (a group nobody can answer in: in their own chat with the app), `nowhere` (no WeCom path to
   * send commands on). Buttons and "send …" hints never point where nobody can answer.
   */
  answer: 'here' | 'aibot' | 'app' | 'nowhere';
  /** How many messages the batch may take (the recipient's share of its rate limits); 1 when not given. */
  maxMessages?: number;
  /** The page with every alert of the batch (wekube's `/view/alerts`), when pages are served. */
  page?: string;
}

const SEVERITY_RANK: Record<string, number> = { critical: 0, high: 1, error: 2, warning: 3, info: 4 };
export const severityRank = (severity: string): number => own(SEVERITY_RANK, severity) ?? 9;

/** Critical first, then by how much is firing. */
function ordered(batch: Batch): AlertGroup[] {
  return [...batch.groups].sort((a, b) => severityRank(a.severity) - severityRank(b.severity) || b.firing - a.firing || a.alertname.localeCompare(b.alertname));
}

function groupLine(group: AlertGroup, options: RenderOptions): Text {
  const time = (at: number) => formatTime(options.locale, options.timezone, new Date(at)).slice(-5);
  const span = group.firstSeen === group.lastSeen ? time(group.firstSeen) : `${time(group.firstSeen)}–${time(group.lastSeen)}`;
  const counts = [group.firing ? `🔥${group.firing}` : '', group.resolved ? `✅${group.resolved}` : ''].filter(Boolean).join(' ');
  return [`${counts} `, strong(clip(group.alertname)), `${group.app ? ` · ${clip(group.app)}` : ''} · ${clip(group.severity, 20) || '-'} · ${span}`];
}

const sampleLine = (sample: AlertGroup['samples'][number]): string =>
  `${sample.status === 'resolved' ? '✅ ' : ''}${clip(sample.instance ?? '-')}${sample.summary ? `: ${clip(sample.summary, 160)}` : ''}`;

/**
 * The messages a batch becomes, each within the recipient's byte limit. When one message holds every group, it
 * lists them with examples (the examples go first when space runs short). When it cannot, the groups are named in
 * compact lines, one per alert name naming each app with its count, critical first, resolves at group level, over as
 * many continuation messages as `maxMessages` allows; only what does not fit even then is counted instead.
 */
export function renderBatch(batch: Batch, options: RenderOptions): Reply[] {
  const groups = ordered(batch);
  const detailed = renderDetailed(batch, groups, options);
  if (detailed.omitted === 0) return [detailed.reply];
  const compact = renderCompact(batch, groups, options);
  // With room for one message only, the compact form still names more groups than examples would.
  return compact.length > 0 ? compact : [detailed.reply];
}

function header(batch: Batch, groups: AlertGroup[], options: RenderOptions): Block {
  return batch.kind === 'digest'
    ? { type: 'title', text: msg('alerts.digestTitle', { firing: batch.firing, resolved: batch.resolved, from: formatTime(options.locale, options.timezone, new Date(batch.openedAt)) }), tone: batch.firing ? 'warning' : 'success' }
    : immediateTitle(batch, groups);
}

/** The last message's end: what was left out, the link to Alertmanager, how to silence. */
function footer(batch: Batch, groups: AlertGroup[], options: RenderOptions, omitted: { groups: number; alerts: number }): Block[] {
  const blocks: Block[] = [];
  if (omitted.groups > 0) blocks.push({ type: 'text', text: msg('alerts.omitted', omitted), tone: 'muted' });
  if (options.page) blocks.push({ type: 'link', text: msg('alerts.openPage'), url: options.page });
  if (batch.externalURL) blocks.push({ type: 'link', text: msg('alerts.openAlertmanager'), url: batch.externalURL });
  const silence = groups.find((g) => g.firing > 0);
  const hint = options.answer === 'here' ? 'alerts.silenceHint' : options.answer === 'aibot' ? 'alerts.silenceHintAibot' : options.answer === 'app' ? 'alerts.silenceHintApp' : undefined;
  if (silence && hint && !isCard(batch, groups, options) && silence.silence.length <= 2 * LABEL_CHARS) blocks.push({ type: 'text', text: msg(hint, { matchers: silence.silence }), tone: 'muted' });
  return blocks;
}

/** A single group sent at once to a user is its group's card (one tap to claim or silence): no typed hint then. */
const isCard = (batch: Batch, groups: AlertGroup[], options: RenderOptions): boolean => batch.kind === 'immediate' && groups.length === 1 && options.answer === 'here';

/** One message: every group with its examples while they fit, then without, then counted. */
function renderDetailed(batch: Batch, groups: AlertGroup[], options: RenderOptions): { reply: Reply; omitted: number } {
  // A single firing group sent at once to a user is its group's card: one-tap claim, silence and refresh where the
  // channel has buttons, updated in place as the group changes.
  const card = isCard(batch, groups, options) && groups[0]!.firing > 0 ? groups[0]! : undefined;
  const cardId = card && groupId(card.alertname, card.app);
  const compose = (included: Block[][], omitted: AlertGroup[]): Reply => {
    const reply: Reply = { blocks: [header(batch, groups, options), ...included.flat(), ...footer(batch, groups, options, { groups: omitted.length, alerts: total(omitted, 'firing') + total(omitted, 'resolved') })] };
    if (card && cardId) {
      reply.actions = cardActions({ id: cardId, firing: card.firing, silence: card.silence });
      reply.ref = cardRef(cardId);
    }
    return reply;
  };

  const included: Block[][] = [];
  let index = 0;
  for (; index < groups.length; index++) {
    const group = groups[index]!;
    const line: Block = { type: 'text', text: groupLine(group, options), tone: group.firing ? undefined : 'success' };
    const full: Block[] = group.samples.length ? [line, { type: 'list', items: group.samples.map(sampleLine) }] : [line];
    const rest = groups.slice(index + 1);
    if (options.fits(compose([...included, full], rest))) included.push(full);
    else if (full.length > 1 && options.fits(compose([...included, [line]], rest))) included.push([line]);
    else break;
  }
  return { reply: compose(included, groups.slice(index)), omitted: groups.length - index };
}

/** A compact line names at most this many bytes of apps; an alert name with more apps continues on the next line. */
const LINE_BYTES = 600;
/** The page mark every message of a multi-message batch ends with: "(2/5)". */
const pageMark = (page: number, pages: number): Block => ({ type: 'text', text: `(${page}/${pages})`, tone: 'muted' });

interface CompactLine {
  block: Block;
  /** The section the line is in: a status and a severity, named once per section on each message. */
  section: string;
  groups: number;
  alerts: number;
}

/**
 * `🔥 **KubePodCrashLooping** ×120 — order 30 · pay 20 · cart 12`: the firing groups of one alert name and
 * severity on one line, in sections by severity (critical first) and then by count; then `✅ …` lines for the groups
 * that resolved.
 */
function compactLines(groups: AlertGroup[]): CompactLine[] {
  const lines: CompactLine[] = [];
  for (const status of ['firing', 'resolved'] as const) {
    const byName = new Map<string, AlertGroup[]>();
    for (const group of groups) {
      if (group[status] === 0) continue;
      const key = `${group.severity}\u0000${group.alertname}`;
      byName.set(key, [...(byName.get(key) ?? []), group]);
    }
    const named = [...byName.values()].sort((a, b) => severityRank(a[0]!.severity) - severityRank(b[0]!.severity) || total(b, status) - total(a, status) || a[0]!.alertname.localeCompare(b[0]!.alertname));
    for (const list of named) {
      const first = list[0]!;
      const mark = status === 'firing' ? '🔥' : '✅';
      const section = `${mark} ${clip(first.severity, 20) || '-'}`;
      const apps = [...list].sort((a, b) => b[status] - a[status] || (a.app ?? '').localeCompare(b.app ?? ''));
      let chunk: AlertGroup[] = [];
      let bytes = 0;
      const flush = (continued: boolean) => {
        if (chunk.length === 0) return;
        const names = chunk.map((group) => `${group.other ? '…' : clip(group.app ?? '-', 60)} ${group[status]}`).join(' · ');
        const text: Text = [`${mark} `, strong(clip(first.alertname)), `${continued ? ' …' : ` ×${total(list, status)}`} — ${names}`];
        // No tint: the mark says it, and a tint costs 27 bytes a line.
        lines.push({ block: { type: 'text', text }, section, groups: chunk.length, alerts: chunk.reduce((sum, g) => sum + g[status], 0) });
        chunk = [];
        bytes = 0;
      };
      let continued = false;
      for (const group of apps) {
        const size = Buffer.byteLength(group.app ?? '-') + 8;
        if (bytes + size > LINE_BYTES && chunk.length > 0) {
          flush(continued);
          continued = true;
        }
        chunk.push(group);
        bytes += size;
      }
      flush(continued);
    }
  }
  return lines;
}

const total = (list: AlertGroup[], status: 'firing' | 'resolved') => list.reduce((sum, g) => sum + g[status], 0);

/** The lines of one message, each section named where it starts (and again at the top of a continuation). */
function sectioned(page: CompactLine[]): Block[] {
  const blocks: Block[] = [];
  page.forEach((line, i) => {
    if (i === 0 || page[i - 1]!.section !== line.section) blocks.push({ type: 'text', text: strong(line.section), tone: 'muted' });
    blocks.push(line.block);
  });
  return blocks;
}

const counted = (lines: CompactLine[]) => ({ groups: lines.reduce((sum, l) => sum + l.groups, 0), alerts: lines.reduce((sum, l) => sum + l.alerts, 0) });

/**
 * Compact lines over up to `maxMessages` messages, each ending with its page mark; the last one also with what was
 * left out, the Alertmanager link and the silence hint. [] when not even one line fits.
 */
function renderCompact(batch: Batch, groups: AlertGroup[], options: RenderOptions): Reply[] {
  const lines = compactLines(groups);
  const maxMessages = Math.max(1, options.maxMessages ?? 1);
  const continued: Block = { type: 'title', text: msg(batch.kind === 'digest' ? 'alerts.digestContinued' : 'alerts.immediateContinued'), tone: batch.kind === 'digest' ? 'warning' : 'error' };
  // Measured with the widest page mark, so the numbers put in afterwards always fit.
  const widest = pageMark(maxMessages, maxMessages);
  const compose = (i: number, page: CompactLine[], end: Block[], mark: Block | undefined): Reply => ({
    blocks: [i === 0 ? header(batch, groups, options) : continued, ...sectioned(page), ...(mark ? [mark] : []), ...end],
  });
  const pages: CompactLine[][] = [];
  let next = 0;
  while (next < lines.length && pages.length < maxMessages) {
    const page: CompactLine[] = [];
    for (; next < lines.length && options.fits(compose(pages.length, [...page, lines[next]!], [], widest)); next++) page.push(lines[next]!);
    if (page.length === 0) break;
    pages.push(page);
  }
  if (pages.length === 0) return [];
  // The end goes on the last message; lines it pushes out move to one more message while there is room, else they
  // are counted with the rest.
  const end = () => footer(batch, groups, options, counted(lines.slice(next)));
  for (;;) {
    const last = pages.at(-1)!;
    if (options.fits(compose(pages.length - 1, last, end(), widest))) break;
    const moved = last.pop()!;
    next--;
    if (last.length === 0) pages.pop();
    if (pages.length < maxMessages && options.fits(compose(pages.length, [moved], end(), widest))) {
      pages.push([moved]);
      next++;
      break;
    }
    if (pages.length === 0) return [];
  }
  return pages.map((page, i) => compose(i, page, i === pages.length - 1 ? end() : [], pages.length > 1 ? pageMark(i + 1, pages.length) : undefined));
}

function immediateTitle(batch: Batch, groups: AlertGroup[]): Block {
  const only = groups.length === 1 ? groups[0]! : undefined;
  if (only && only.firing + only.resolved === 1) {
    return only.firing
      ? { type: 'title', text: msg('alerts.firingOne', { alertname: clip(only.alertname), severity: clip(only.severity, 20) || '-' }), tone: 'error' }
      : { type: 'title', text: msg('alerts.resolvedOne', { alertname: clip(only.alertname) }), tone: 'success' };
  }
  return { type: 'title', text: msg('alerts.immediateTitle', { firing: batch.firing, resolved: batch.resolved }), tone: batch.firing ? 'error' : 'success' };
}
