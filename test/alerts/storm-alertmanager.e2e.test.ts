import { describe, expect, it } from 'vitest';
import { stormSideBySide } from '../helpers/storm-vs-alertmanager.js';

// The storm of issue 13 through one real Alertmanager, to its own WeChat receiver and to wekube, side by side:
// 3,000 alerts (50 names × 20 apps, 334 critical) over 20 s, 30% resolved a minute after the storm began.
describe('an alert storm through the real Alertmanager', () => {
  it('names every alert group and every critical alert, reports every resolve, within WeCom limits and a reply budget', { timeout: 600_000 }, async () => {
    const { alerts, critical, resolved, alertmanager, wekube } = await stormSideBySide({ alerts: 3000, window: '1m', quietSeconds: 20, entry: 'source' });
    expect({ alerts, critical, resolved }).toEqual({ alerts: 3000, critical: 334, resolved: 900 });
    // Alertmanager's own receiver, for comparison: it floods the user and WeCom drops most of it.
    expect(alertmanager.dropped).toBeGreaterThan(1000);
    expect(wekube).toMatchObject({ unnamed: 0, unnamedCritical: 0, resolvesHeard: 900, overLimit: 0, dropped: 0 });
    // Each digest and urgent batch links to the page with all of it.
    expect(wekube.pageLinks).toBeGreaterThan(0);
    // Alerts keep to two thirds of the member's 30 a minute; the rest is left for replies.
    expect(wekube.busiestMinute).toBeLessThanOrEqual(20);
    // The last news (a burst of critical resolves, 10 s after the first of them went) within 15 s of Alertmanager's last send.
    expect(wekube.lastShown).toBeLessThanOrEqual(alertmanager.lastSent + 15);
  });
});
