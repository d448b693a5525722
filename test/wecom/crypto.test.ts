import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CallbackCrypto, CallbackCryptoError } from '../../src/wecom/crypto.js';
import { wecomEncrypt, wecomSign } from '../fakes/callback-sender.js';

// The official vectors of ../shared/reference/wecom-api.md §1.7.
const A = { token: 'QDG6eK', corpId: 'wx5823bf96d3bd56c7', aesKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C' };
const B = { token: 'hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo', corpId: 'ww1436e0e65a779aee', aesKey: '6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt' };

const A_POST_ENCRYPT =
  'RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==';
const B_POST_ENCRYPT =
  'Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+';

describe('callback crypto against the official vectors', () => {
  const a = new CallbackCrypto(A.token, A.aesKey, A.corpId);
  const b = new CallbackCrypto(B.token, B.aesKey, B.corpId);

  it('set A: URL verification decrypts the echostr to the expected reply', () => {
    const echostr = 'P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==';
    expect(a.open('5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3', '1409659589', '263014780', echostr)).toBe('1616140317555161061');
  });

  it('set A: the message decrypts (pad 30) to the documented XML with its big MsgId', () => {
    const xml = a.open('477715d11cdb4164915debcba66cb864d751f3e6', '1409659813', '1372623149', A_POST_ENCRYPT);
    expect(xml).toBe(
      '<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>',
    );
  });

  it('set B: URL verification and the message (pad 22, 228 bytes with 你好)', () => {
    const echostr = 'fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==';
    expect(b.open('012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb', '1476416373', '47744683', echostr)).toBe('1288432023552776189');
    const xml = b.open('0c3914025cb4b4d68103f6bfc8db550f79dcf48e', '1476422779', '1597212914', B_POST_ENCRYPT);
    expect(xml).toContain('<Content>你好</Content>');
    expect(Buffer.byteLength(xml)).toBe(228);
  });

  it('self-made vectors: passive reply (pad 20) and a full block of padding (pad 32)', () => {
    const reply =
      '2JaQ0H0H/TuqGM/rDRTva1ICb9mWb7t2iklBVTo6H7FZxBkmxrtV6TNhzAN7nTOIkL6n5g5UoyUBzmh7fg5/kPbKGWqY4e8zlGLCU4dQYdZEGboo0wg6Xi8H9CC1zBjsF6Dx9CfKnIxbUlGkEW4NayEOghsCTjUp1kdTap5nLiR0CWZ3QCSiTHkhS0pg+Lh6CDCJIPfsO3SNjQ+2mdySKxDvhdoPdcvMXe/snJR7NXNvzkCv1b1yGprlHqpv8nLUVGrhYKnbwBZi4bD7DoCM+NGKeSUNTX4MvHSzJ1W6qjxK2hW5ZYh83KUQWvLhrpWCBpzp4EA0c4a+2gyEWjJHm8QJq22BnukPEfbF8Y3ZHRYxpRlcnHCmg9uSvCgpnjvu';
    expect(a.signature('1409659813', '1372623149', reply)).toBe('b5859cb3d264b06cf1c461f68f62566ccbc5b742');
    expect(a.decrypt(reply)).toContain('<Content><![CDATA[this is a test]]></Content>');
    const full = '5E3PQMOs0sDXj07fjAt1j8fmJdR2rWC4+iOO7ppykw92yLP6peUScP83BN/7ufA9UmJwV3FihGjo5E+HfDzLQgcCCHyTEbmKW0ScCxxmDiC0Z4h5m2MUrhz48iPbkD4D';
    expect(a.open('2510da52bb2f159ad945f8b389fe821ca72d7c33', '1700000000', 'nonce123', full)).toBe('x'.repeat(26));
  });

  it('the test sender encrypts exactly like the official vectors (same prefix, same ciphertext)', () => {
    const plain = a.decrypt(A_POST_ENCRYPT);
    expect(wecomEncrypt(A.aesKey, A.corpId, plain, Buffer.from('0960688932c47ef1'))).toBe(A_POST_ENCRYPT);
    expect(wecomSign(A.token, '1409659813', '1372623149', A_POST_ENCRYPT)).toBe('477715d11cdb4164915debcba66cb864d751f3e6');
  });

  it("wekube's own encryption (for passive replies) round-trips through the strict decrypt", () => {
    for (let length = 0; length < 70; length++) {
      const message = '回'.repeat(length);
      expect(a.decrypt(a.encrypt(message))).toBe(message);
    }
  });
});

describe('callback crypto refuses', () => {
  const a = new CallbackCrypto(A.token, A.aesKey, A.corpId);
  const key = Buffer.from(`${A.aesKey}=`, 'base64');
  const reason = (run: () => unknown) => {
    try {
      run();
    } catch (error) {
      if (error instanceof CallbackCryptoError) return error.reason;
      throw error;
    }
    return 'accepted';
  };
  // Encrypts a raw padded plaintext, to build payloads the sender would never make.
  const raw = (plain: Buffer) => {
    const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
    cipher.setAutoPadding(false);
    return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
  };
  const layout = (message: string, receiver: string, lengthField?: number) => {
    const body = Buffer.from(message);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(lengthField ?? body.length);
    return Buffer.concat([Buffer.from('0123456789abcdef'), length, body, Buffer.from(receiver)]);
  };
  const pad = (plain: Buffer, bytes?: number[]) => {
    const count = 32 - (plain.length % 32);
    return Buffer.concat([plain, Buffer.from(bytes ?? Array(count).fill(count))]);
  };

  it('a wrong or tampered signature, before any decryption', () => {
    expect(reason(() => a.open('477715d11cdb4164915debcba66cb864d751f3e7', '1409659813', '1372623149', A_POST_ENCRYPT))).toBe('signature');
    expect(reason(() => a.open('477715d11cdb4164915debcba66cb864d751f3e6', '1409659814', '1372623149', A_POST_ENCRYPT))).toBe('signature');
    const tampered = `${A_POST_ENCRYPT.slice(0, 10)}A${A_POST_ENCRYPT.slice(11)}`;
    expect(reason(() => a.open('477715d11cdb4164915debcba66cb864d751f3e6', '1409659813', '1372623149', tampered))).toBe('signature');
  });

  it('a message for another corp (receive id), even with a valid signature', () => {
    const other = wecomEncrypt(A.aesKey, 'wwsomeoneelse', '<xml/>');
    expect(reason(() => a.open(wecomSign(A.token, '1', '2', other), '1', '2', other))).toBe('receiver');
  });

  it('padding out of range or with unequal bytes', () => {
    const plain = layout('hello', A.corpId); // 16+4+5+18 = 43 bytes, pad 21
    expect(reason(() => a.decrypt(raw(pad(plain))))).toBe('accepted');
    const unequal = [...Array(20).fill(21), 20];
    expect(reason(() => a.decrypt(raw(pad(plain, unequal))))).toBe('padding');
    const zero = [...Array(20).fill(21), 0];
    expect(reason(() => a.decrypt(raw(pad(plain, zero))))).toBe('padding');
    const big = [...Array(20).fill(21), 33];
    expect(reason(() => a.decrypt(raw(pad(plain, big))))).toBe('padding');
  });

  it('a length field pointing past the plaintext', () => {
    expect(reason(() => a.decrypt(raw(pad(layout('hello', A.corpId, 5000)))))).toBe('length-field');
  });

  it('ciphertext that is not base64 or not whole blocks', () => {
    expect(reason(() => a.decrypt('not base64!'))).toBe('base64');
    expect(reason(() => a.decrypt(Buffer.alloc(48).toString('base64')))).toBe('length');
  });
});
