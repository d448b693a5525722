import { en } from './locales/en.js';
import { zhCN, type MessageKey } from './locales/zh-CN.js';

export type { MessageKey };
export type Locale = 'zh-CN' | 'en';
export type Params = Record<string, string | number>;

const catalogs: Record<Locale, Record<MessageKey, string>> = { 'zh-CN': zhCN, en };

/** Whether a string is a key of the catalogs (an audit reason may be one, or the cluster's own words). */
export const isMessageKey = (key: string): key is MessageKey => Object.hasOwn(zhCN, key);

export function translate(locale: Locale, key: MessageKey, params: Params = {}): string {
  const template = catalogs[locale][key];
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** Joins a list the way the locale does: 、 in Chinese, ", " in English. */
export function joinList(locale: Locale, items: readonly string[]): string {
  return items.join(locale === 'zh-CN' ? '、' : ', ');
}

export function formatTime(locale: Locale, timeZone: string, date: Date | string | undefined): string {
  if (!date) return '-';
  return new Intl.DateTimeFormat(locale === 'zh-CN' ? 'zh-CN' : 'en-GB', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  }).format(new Date(date));
}

/** "2 分 5 秒" / "2m 5s": minutes and seconds, hours past an hour. */
export function durationText(locale: Locale, ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const parts: string[] = [];
  if (hours) parts.push(translate(locale, 'unit.hours', { n: hours }));
  if (minutes) parts.push(translate(locale, 'unit.minutes', { n: minutes }));
  if (seconds || parts.length === 0) parts.push(translate(locale, 'unit.seconds', { n: seconds }));
  return parts.join(' ');
}
