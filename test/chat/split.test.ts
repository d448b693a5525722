import { describe, expect, it } from 'vitest';
import { paginate, splitUtf8 } from '../../src/wecom/split.js';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

describe('splitting by UTF-8 bytes', () => {
  it('keeps short text whole and drops empty text', () => {
    expect(splitUtf8('hello', 2048)).toEqual(['hello']);
    expect(splitUtf8('  \n ', 2048)).toEqual([]);
  });

  it('splits on line boundaries when lines fit', () => {
    const lines = Array.from({ length: 300 }, (_, i) => `第${i}行：状态正常`);
    const parts = splitUtf8(lines.join('\n'), 2048);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(bytes(part)).toBeLessThanOrEqual(2048);
    expect(parts.join('\n')).toBe(lines.join('\n'));
  });

  it('splits a long line between characters, never inside one (CJK, emoji, combining marks)', () => {
    const line = '告警🔥e\u0301'.repeat(400);
    const parts = splitUtf8(line, 2048);
    for (const part of parts) {
      expect(bytes(part)).toBeLessThanOrEqual(2048);
      expect(Buffer.from(part, 'utf8').toString('utf8')).toBe(part);
      expect(part).not.toMatch(/^\u0301/);
    }
    expect(parts.join('')).toBe(line);
  });

  it('numbers the parts and keeps each within the limit, numbering included', () => {
    const text = Array.from({ length: 500 }, (_, i) => `pod-${i} CrashLoopBackOff 容器退出码 1`).join('\n');
    const parts = paginate(text, 2048);
    parts.forEach((part, index) => {
      expect(bytes(part)).toBeLessThanOrEqual(2048);
      expect(part.endsWith(`(${index + 1}/${parts.length})`)).toBe(true);
    });
  });
});
