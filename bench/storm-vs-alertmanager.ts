// An alert storm through one real Alertmanager to its own WeChat receiver and to wekube, side by side
// (test/helpers/storm-vs-alertmanager.ts), as the table in README.
// Run: npm run bench -- storm-vs-alertmanager [--alerts 3000] [--window 1m] [--quiet 60]
import { parseArgs } from 'node:util';
import { stormSideBySide, type StormFigures } from '../test/helpers/storm-vs-alertmanager.js';
import { report } from './report.js';

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { alerts: { type: 'string', default: '3000' }, window: { type: 'string', default: '1m' }, quiet: { type: 'string', default: '60' } } });
  const result = await stormSideBySide({ alerts: Number(values.alerts), window: values.window, quietSeconds: Number(values.quiet), entry: 'built' });
  const lines: [string, (f: StormFigures) => string][] = [
    ['messages sent', (f) => String(f.sent)],
    ['over 2048 bytes', (f) => String(f.overLimit)],
    ['that WeCom would drop (30/min per member, errors)', (f) => String(f.dropped)],
    ['alerts never named as alertname + app', (f) => `${f.unnamed} of ${result.alerts}`],
    ['… of them critical', (f) => `${f.unnamedCritical} of ${result.critical}`],
    ['resolves the user heard of', (f) => `${f.resolvesHeard} of ${result.resolved}`],
    ['most messages in any minute', (f) => String(f.busiestMinute)],
    ['last delivery after the storm began (s)', (f) => f.lastShown.toFixed(0)],
    ['last message sent, shown or dropped (s)', (f) => f.lastSent.toFixed(0)],
    ['delivered messages linking to every alert', (f) => String(f.pageLinks)],
  ];
  const rows: Record<string, string> = {};
  for (const [name, show] of lines) rows[name] = `${show(result.alertmanager).padStart(14)}  ${show(result.wekube).padStart(14)}`;
  report(
    `alert storm through one Alertmanager (${result.alerts} alerts, 50 names × 20 apps, ${result.critical} critical, 30% resolved after 60 s; wekube window ${values.window})\n  ${''.padEnd(50)}  ${'Alertmanager'.padStart(14)}  ${'wekube'.padStart(14)}`,
    rows,
    { name: 'storm-vs-alertmanager', ...result, window: values.window },
  );
}
