import { describe, expect, it } from 'vitest';
import { extractEnvironments, normalize, tokenize, unquote } from '../../src/chat/parse.js';

describe('input normalisation (SPEC §4)', () => {
  it('turns full-width IME input into half-width and collapses spaces', () => {
    expect(normalize('ｈｅｌｐ')).toBe('help');
    expect(normalize('ｓｃａｌｅ　ｏｒｄｅｒ－ｓｅｒｖｉｃｅ　４　＠ｐｒｏｄ')).toBe('scale order-service 4 @prod');
    expect(normalize('subscribe app＝order')).toBe('subscribe app=order');
    expect(normalize('  deploy   a\t\n 1.2  ')).toBe('deploy a 1.2');
  });

  it('drops a leading slash and turns Chinese quotes into ASCII ones', () => {
    expect(normalize('/help')).toBe('help');
    expect(normalize('／ help')).toBe('help');
    expect(normalize('subscribe severity=~“warning|critical”')).toBe('subscribe severity=~"warning|critical"');
  });

  it('keeps quoted spaces and quotes inside one token', () => {
    expect(tokenize('silence alertname="Etcd No Leader" 2h drill test')).toEqual(['silence', 'alertname="Etcd No Leader"', '2h', 'drill', 'test']);
    expect(unquote('"a b"')).toBe('a b');
    expect(unquote('a"b')).toBe('a"b');
  });

  it('takes @env from anywhere', () => {
    expect(extractEnvironments(['deploy', '@Prod', 'app', '1.0'])).toEqual({ tokens: ['deploy', 'app', '1.0'], environments: ['prod'] });
    expect(extractEnvironments(['subscribe', 'owner=a@b.com']).environments).toEqual([]);
  });
});
