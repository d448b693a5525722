import { describe, expect, it } from 'vitest';
import { renderBatch } from '../../src/alerts/render.js';
import { renderPlain } from '../../src/chat/render-plain.js';
import { renderMarkdown } from '../../src/wecom/render.js';
import { msg } from '../../src/chat/reply.js';

describe('one reply model, a renderer per channel', () => {
  it('shows emphasis as bold in WeCom markdown and as nothing in plain text (console, messageFormat: text)', () => {
    const [reply] = renderBatch(
      {
        id: 1,
        kind: 'digest',
        recipientKey: 'user:lisi',
        openedAt: Date.UTC(2026, 10, 24, 10),
        dueAt: 0,
        externalURL: '',
        firing: 2,
        resolved: 0,
        groups: [{ alertname: 'HighLatency', app: 'order', severity: 'warning', firing: 2, resolved: 0, firstSeen: 0, lastSeen: 0, samples: [], silence: 'alertname="HighLatency"' }],
      },
      { locale: 'zh-CN', timezone: 'Asia/Shanghai', fits: () => true, answer: 'here' },
    );
    expect(renderMarkdown(reply!, 'zh-CN')).toMatch(/🔥2 \*\*HighLatency\*\* · order/);
    const plain = renderPlain(reply!, 'zh-CN');
    expect(plain).toMatch(/🔥2 HighLatency · order/);
    expect(plain).not.toMatch(/\*\*|<font|`/);
  });

  it('says once what to send: an action the text already names is not repeated as a hint', () => {
    const reply = {
      blocks: [{ type: 'text' as const, text: msg('change.confirmPrompt', { minutes: 2, code: '1234' }) }],
      actions: [
        { label: msg('action.confirm'), command: 'confirm 1234' },
        { label: msg('action.cancel'), command: 'cancel 1234' },
        { label: msg('alerts.silenceAction'), command: 'silence alertname="X" 2h' },
      ],
    };
    for (const text of [renderPlain(reply, 'zh-CN'), renderMarkdown(reply, 'zh-CN')]) {
      expect(text.split('confirm 1234')).toHaveLength(2);
      expect(text.split('cancel 1234')).toHaveLength(2);
      expect(text).toMatch(/回复 `?silence alertname="X" 2h/);
    }
  });

  it('never tells a group to reply where nobody can: no buttons, and the hint names where commands are sent', () => {
    const batch = {
      id: 2,
      kind: 'immediate' as const,
      recipientKey: 'chat:ops',
      openedAt: 0,
      dueAt: 0,
      externalURL: '',
      firing: 1,
      resolved: 0,
      groups: [{ alertname: 'EtcdNoLeader', severity: 'critical', firing: 1, resolved: 0, firstSeen: 0, lastSeen: 0, samples: [], silence: 'alertname="EtcdNoLeader"' }],
    };
    const options = { locale: 'zh-CN' as const, timezone: 'Asia/Shanghai', fits: () => true };
    const one = (answer: 'here' | 'aibot' | 'app' | 'nowhere') => {
      const pages = renderBatch(batch, { ...options, answer });
      expect(pages).toHaveLength(1);
      return pages[0]!;
    };
    const user = one('here');
    expect(user.actions?.map((action) => action.command)).toEqual([expect.stringMatching(/^claim [0-9a-f]{6}$/), 'silence alertname="EtcdNoLeader" 2h', expect.stringMatching(/^alerts card [0-9a-f]{6}$/)]);
    const group = one('aibot');
    expect(group.actions).toBeUndefined();
    expect(renderMarkdown(group, 'zh-CN')).toMatch(/在群里 @wekube 发送：silence alertname="EtcdNoLeader" 2h/);
    expect(renderMarkdown(one('app'), 'zh-CN')).toMatch(/在企业微信的 wekube 应用里发送/);
    expect(renderMarkdown(one('nowhere'), 'zh-CN')).not.toMatch(/发送|回复/);
  });
});
