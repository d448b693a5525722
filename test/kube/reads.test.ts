import { describe, expect, it } from 'vitest';
import { maskSecrets } from '../../src/kube/reads.js';

describe('log lines shown in chat', () => {
  it('hide values that look like passwords, tokens and keys, and keep the rest', () => {
    expect(maskSecrets('connecting with password=hunter2 to db')).toBe('connecting with password=****** to db');
    expect(maskSecrets('DB_PASSWORD: "s3cr3t"')).toBe('DB_PASSWORD: "******"');
    expect(maskSecrets('{"token":"eyJhbGciOi.x.y","user":"a"}')).toBe('{"token":"******","user":"a"}');
    expect(maskSecrets('Authorization: Bearer abc.def')).toBe('Authorization: Bearer ******');
    expect(maskSecrets('api_key=AKIA123 secret=xyz')).toBe('api_key=****** secret=******');
    expect(maskSecrets('GET /healthz 200 12ms')).toBe('GET /healthz 200 12ms');
  });
});
