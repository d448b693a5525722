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
}

const SEVERITY_RANK: Record<string, number> = { critical: 0, high: 1, error: 2, warning: 3, info: 4 };

function ordered(batch: Batch): AlertGroup[] {
  return [...batch.groups].sort(
    (a, b) => b.firing - a.firing || (own(SEVERITY_RANK, a.severity) ?? 9) - (own(SEVERITY_RANK, b.severity) ?? 9) || a.alertname.localeCompare(b.alertname),
  );
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
 * The one message a batch becomes, packed within the recipient's limit: groups in order of how much is firing,
 * each with examples if they fit and without if not; what does not fit is counted at the end, never dropped.
 */
export function renderBatch(batch: Batch, options: RenderOptions): Reply {
  const groups = ordered(batch);
  const alerts = (list: AlertGroup[]) => list.reduce((sum, g) => sum + g.firing + g.resolved, 0);
  const header: Block[] =
    batch.kind === 'digest'
      ? [{ type: 'title', text: msg('alerts.digestTitle', { firing: batch.firing, resolved: batch.resolved, from: formatTime(options.locale, options.timezone, new Date(batch.openedAt)) }), tone: batch.firing ? 'warning' : 'success' }]
      : [immediateTitle(batch, groups)];
  const compose = (included: Block[][], omitted: AlertGroup[]): Reply => {
    const blocks = [...header, ...included.flat()];
    if (omitted.length > 0) blocks.push({ type: 'text', text: msg('alerts.omitted', { groups: omitted.length, alerts: alerts(omitted) }), tone: 'muted' });
    if (batch.externalURL) blocks.push({ type: 'link', text: msg('alerts.openAlertmanager'), url: batch.externalURL });
    const silence = groups.find((g) => g.firing > 0);
    const hint = options.answer === 'here' ? 'alerts.silenceHint' : options.answer === 'aibot' ? 'alerts.silenceHintAibot' : options.answer === 'app' ? 'alerts.silenceHintApp' : undefined;
    const oneTap = batch.kind === 'immediate' && groups.length === 1 && options.answer === 'here';
    if (silence && hint && !oneTap && silence.silence.length <= 2 * LABEL_CHARS) blocks.push({ type: 'text', text: msg(hint, { matchers: silence.silence }), tone: 'muted' });
    const reply: Reply = { blocks };
    // A single firing group sent at once to a user is its group's card: one-tap claim, silence and refresh where the
    // channel has buttons, updated in place as the group changes.
    if (oneTap && silence) {
      const id = groupId(silence.alertname, silence.app);
      reply.actions = cardActions({ id, firing: silence.firing, silence: silence.silence });
      reply.ref = cardRef(id);
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
  return compose(included, groups.slice(index));
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
