import { describe, expect, it } from 'vitest';
import { LINK_TTL_MS, SESSION_TTL_MS, ViewAuth, viewKey } from '../../src/view/auth.js';

const key = viewKey(['app-secret', undefined])!;
let now = Date.parse('2026-11-27T08:00:00Z');
const auth = new ViewAuth({ key, now: () => now, publicUrl: 'https://wekube.example.com/' });

describe('page links and sessions', () => {
  it('binds a link to its recipient until it expires', () => {
    const link = auth.link('/view/alerts?from=1&to=2', { user: 'lisi' })!;
    expect(link).toMatch(/^https:\/\/wekube\.example\.com\/view\/alerts\?from=1&to=2&t=/);
    const token = new URL(link).searchParams.get('t')!;
    expect(auth.linkUser(token)).toBe('lisi');
    now += LINK_TTL_MS - 1000;
    expect(auth.linkUser(token)).toBe('lisi');
    now += 2000;
    expect(auth.linkUser(token)).toBeUndefined();
  });

  it('never lets a token stand for another user, another purpose or another key', () => {
    const token = new URL(auth.link('/view/alerts', { user: 'lisi' })!).searchParams.get('t')!;
    const [expires, , mac] = token.split('.');
    expect(auth.linkUser(`${expires}.${Buffer.from('zhaoliu').toString('base64url')}.${mac}`)).toBeUndefined();
    expect(auth.linkUser(`${(Number.parseInt(expires!, 36) * 2).toString(36)}.${token.split('.')[1]}.${mac}`)).toBeUndefined();
    // A link is not a session, and a session is not a link.
    expect(auth.sessionUser(token)).toBeUndefined();
    expect(auth.linkUser(auth.session('lisi'))).toBeUndefined();
    const other = new ViewAuth({ key: viewKey(['another secret'])!, now: () => now, publicUrl: 'https://wekube.example.com/' });
    expect(other.linkUser(token)).toBeUndefined();
    for (const junk of ['', '.', '..', 'a.b.c.d', 'zzz.bGlzaQ.', `${token}x`]) expect(auth.linkUser(junk)).toBeUndefined();
  });

  it('gives a group chat a plain link (its readers log in), and no link at all without a public address or a way to log in', () => {
    const login = new ViewAuth({ key, now: () => now, publicUrl: 'https://wekube.example.com/', oauth: { base: 'https://open.weixin.qq.com', corpId: 'wwcorp', agentId: 1000002, api: { call: async () => ({ errcode: 0, errmsg: 'ok' }) } } });
    expect(login.link('/view/alerts', { chat: 'ops-oncall' })).toBe('https://wekube.example.com/view/alerts');
    expect(auth.link('/view/alerts', { chat: 'ops-oncall' })).toBeUndefined();
    expect(new ViewAuth({ key, now: () => now }).link('/view/alerts', { user: 'lisi' })).toBeUndefined();
    expect(viewKey([undefined, ''])).toBeUndefined();
  });

  it('keeps a session for its lifetime only', () => {
    const session = auth.session('wangwu');
    expect(auth.sessionUser(session)).toBe('wangwu');
    now += SESSION_TTL_MS + 1;
    expect(auth.sessionUser(session)).toBeUndefined();
  });

  it('sends the web login to WeCom for the corp and app, with a fresh state, back to /view/login', () => {
    const login = new ViewAuth({ key, now: () => now, publicUrl: 'https://wekube.example.com', oauth: { base: 'https://open.weixin.qq.com', corpId: 'wwcorp', agentId: 1000002, api: { call: async () => ({ errcode: 0, errmsg: 'ok' }) } } });
    const first = login.startLogin();
    const url = new URL(first.url);
    expect(`${url.origin}${url.pathname}`).toBe('https://open.weixin.qq.com/connect/oauth2/authorize');
    expect(Object.fromEntries(url.searchParams)).toEqual({ appid: 'wwcorp', redirect_uri: 'https://wekube.example.com/view/login', response_type: 'code', scope: 'snsapi_base', state: first.state, agentid: '1000002' });
    expect(url.hash).toBe('#wechat_redirect');
    expect(login.startLogin().state).not.toBe(first.state);
  });
});
