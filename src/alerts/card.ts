import { durationText, formatTime, type Locale } from '../chat/i18n.js';
import { excerpt } from '../chat/parse.js';
import { msg, type Action, type Block, type Reply } from '../chat/reply.js';
import { claimHolds, groupId, type Claim } from './claims.js';
import type { StoredAlert } from './engine.js';

/**
 * An alert group's card (one alertname for one app): what fires, who took it, and the buttons that act on it. It is
 * sent when a single group fires at once to a user, and updated in place as the group changes (claimed, unclaimed,
 * resolved) where WeCom allows an update; its 刷新 button brings the card up to date when it does not.
 */
export interface GroupState {
  id: string;
  alertname: string;
  app?: string;
  severity: string;
  firing: number;
  /** The earliest startsAt of the current firing (ms). */
  since: number;
  /** When the last alert of the group resolved; set only when none fires. */
  resolvedAt?: number;
  summary?: string;
  /** The claim on the current firing. */
  claim?: Claim;
  /** Matchers that silence the group. */
  silence: string;
}

export const cardRef = (id: string): string => `alert:${id}`;

/** The matchers that silence an alert group (alertname, and app when there is one). */
export const silenceMatchers = (alertname: string, app: string | undefined): string =>
  app ? `alertname=${JSON.stringify(alertname)} app=${JSON.stringify(app)}` : `alertname=${JSON.stringify(alertname)}`;

/** When an alert started, in ms (when it was seen, if its startsAt cannot be read): its group's since is the earliest. */
export const sinceOf = (alert: StoredAlert): number => Date.parse(alert.startsAt) || alert.lastSeen || 0;

/** The state of the group `id` from its stored alerts (firing and recently resolved); undefined when none is kept. */
export function groupState(alerts: StoredAlert[], claim: Claim | undefined): GroupState | undefined {
  const first = alerts[0];
  if (!first) return undefined;
  const firing = alerts.filter((alert) => alert.status === 'firing');
  const current = firing.length > 0 ? firing : alerts;
  const since = Math.min(...current.map(sinceOf));
  const alertname = first.labels.alertname ?? '?';
  const app = first.labels.app;
  const newest = [...current].sort((a, b) => b.lastSeen - a.lastSeen)[0]!;
  return {
    id: groupId(alertname, app),
    alertname,
    app,
    severity: newest.labels.severity ?? '-',
    firing: firing.length,
    since,
    resolvedAt: firing.length === 0 ? Math.max(...alerts.map((alert) => Date.parse(alert.endsAt ?? '') || alert.lastSeen)) : undefined,
    summary: newest.annotations.summary ?? newest.annotations.description,
    claim: claimHolds(claim, since),
    silence: silenceMatchers(alertname, app),
  };
}

/** The buttons of a group's card: claim while nobody has, silence while it fires, and refresh always. */
export function cardActions(group: Pick<GroupState, 'id' | 'firing' | 'claim' | 'silence'>): Action[] {
  const actions: Action[] = [];
  if (group.firing > 0 && !group.claim) actions.push({ label: msg('action.claim'), command: `claim ${group.id}`, style: 'primary' });
  if (group.firing > 0) actions.push({ label: msg('alerts.silenceAction'), command: `silence ${group.silence} 2h` });
  actions.push({ label: msg('action.refresh'), command: `alerts card ${group.id}` });
  return actions;
}

export function alertCard(group: GroupState, options: { locale: Locale; timezone: string; externalURL?: string; now: number }): Reply & { ref: string } {
  const { locale } = options;
  const time = (at: number) => formatTime(locale, options.timezone, new Date(at));
  const title: Block = group.firing > 0
    ? { type: 'title', text: msg(group.firing > 1 ? 'alerts.firingMany' : 'alerts.firingOne', { alertname: excerpt(group.alertname, 80), severity: excerpt(group.severity, 20), count: group.firing }), tone: 'error' }
    : { type: 'title', text: msg('alerts.resolvedOne', { alertname: excerpt(group.alertname, 80) }), tone: 'success' };
  const fields = [
    { label: msg('alerts.cardApp'), value: excerpt(group.app ?? '-', 60) },
    { label: msg('alerts.cardSince'), value: time(group.since) },
    ...(group.resolvedAt !== undefined ? [{ label: msg('alerts.cardResolvedAt'), value: time(group.resolvedAt) }] : []),
  ];
  const blocks: Block[] = [title, { type: 'fields', fields }];
  if (group.summary) blocks.push({ type: 'text', text: excerpt(group.summary, 160) });
  const claim = group.claim;
  if (claim) blocks.push({ type: 'text', text: msg('claim.by', { user: claim.claimedBy, ack: durationText(locale, claim.claimedAt - claim.since) }) });
  else if (group.firing > 0) blocks.push({ type: 'text', text: msg('alerts.cardUnclaimed', { id: group.id }), tone: 'muted' });
  blocks.push({ type: 'text', text: msg('alerts.cardUpdated', { time: time(options.now) }), tone: 'muted' });
  if (options.externalURL) blocks.push({ type: 'link', text: msg('alerts.openAlertmanager'), url: options.externalURL });
  return { blocks, actions: cardActions(group), ref: cardRef(group.id), urgent: true };
}
