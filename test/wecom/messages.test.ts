import { describe, expect, it } from 'vitest';
import { parseEnvelope, parseMessage, XmlError } from '../../src/wecom/messages.js';

const message = (inner: string) => `<xml><FromUserName><![CDATA[ZhangSan]]></FromUserName><CreateTime>1700000000</CreateTime>${inner}</xml>`;

describe('callback XML', () => {
  it('reads fields by name in any case, CDATA or text, trimmed, every value a string', () => {
    const parsed = parseMessage(message('<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[ deploy a 1.0 ]]></Content><MsgId>12345678901234567890</MsgId><AgentId>1000002</AgentId>'));
    expect(parsed).toMatchObject({ from: 'zhangsan', createTime: 1700000000, msgType: 'text', content: 'deploy a 1.0', msgId: '12345678901234567890', agentId: '1000002', dedupKey: 'msg:12345678901234567890' });
    expect(parseEnvelope('<xml><ToUserName>ww1</ToUserName><AgentID>7</AgentID><Encrypt>abc=</Encrypt></xml>')).toEqual({ toUserName: 'ww1', agentId: '7', encrypt: 'abc=' });
  });

  it('decodes only the predefined entities; CDATA stays literal', () => {
    expect(parseMessage(message('<MsgType>text</MsgType><Content>a &amp; b &lt;c&gt;</Content>')).content).toBe('a & b <c>');
    expect(parseMessage(message('<MsgType>text</MsgType><Content><![CDATA[a &amp; b]]></Content>')).content).toBe('a &amp; b');
  });

  it('keeps a message holding control characters XML forbids, as U+FFFD', () => {
    expect(parseMessage(message('<MsgType>text</MsgType><Content><![CDATA[a\u0000b\u001bc]]></Content>')).content).toBe('a\uFFFDb\uFFFDc');
  });

  it.each([
    ['a DOCTYPE', '<!DOCTYPE xml [<!ENTITY x "boom">]><xml><Encrypt>&x;</Encrypt></xml>', /DOCTYPE/],
    ['an undefined entity', '<xml><Encrypt>&x;</Encrypt></xml>', /not well-formed/],
    ['a tag left open', '<xml><Encrypt>abc</xml>', /not well-formed/],
    ['another root', '<root><Encrypt>abc</Encrypt></root>', /no <xml> root/],
    ['two roots', '<xml><Encrypt>a</Encrypt></xml><xml/>', /not well-formed/],
    ['a field given twice', '<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>', /<encrypt> must hold text/],
    ['a field holding elements', '<xml><Encrypt><b>a</b></Encrypt></xml>', /<encrypt> must hold text/],
    ['no Encrypt', '<xml><ToUserName>a</ToUserName></xml>', /<Encrypt> is missing/],
    ['not XML at all', 'hello', /not well-formed/],
  ])('refuses %s with the reason', (_, body, reason) => {
    expect(() => parseEnvelope(body)).toThrow(XmlError);
    expect(() => parseEnvelope(body)).toThrow(reason);
  });

  it('survives deep nesting and reserved names without touching prototypes', () => {
    const deep = `<xml>${'<b>'.repeat(5000)}${'</b>'.repeat(5000)}<Encrypt>x</Encrypt></xml>`;
    expect(parseEnvelope(deep).encrypt).toBe('x');
    expect(() => parseEnvelope('<xml><__proto__>x</__proto__><Encrypt>x</Encrypt></xml>')).not.toThrow();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
