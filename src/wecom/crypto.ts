import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import WXBizMsgCrypt from 'wechat-crypto';

/** Why a callback payload was refused. Logged; never shown to the sender. */
export type CryptoFailure = 'signature' | 'base64' | 'length' | 'padding' | 'length-field' | 'utf8' | 'receiver';

export class CallbackCryptoError extends Error {
  constructor(readonly reason: CryptoFailure) {
    super(`callback crypto: ${reason}`);
    this.name = 'CallbackCryptoError';
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BLOCK = 32; // WeCom pads with PKCS#7 to 32-byte multiples (wecom-api.md §1.2), not AES's 16
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The callback crypto of a self-built app, strict where wechat-crypto is lenient. The library derives the key
 * and computes signatures and encryptions (its npm 0.0.2 encrypt pads correctly); its decrypt drops a bad pad
 * and never checks the length field or the receive id, so decryption is done here with every check.
 */
export class CallbackCrypto {
  readonly #lib: WXBizMsgCrypt;

  /**
   * `corpId` is the receive id the plaintext must end with: the corp id for a self-built app, the empty string for
   * an internal 智能机器人 (wecom-aibot.md §1.3.2), which wechat-crypto refuses; it is then given a stand-in and
   * encryption is done here.
   */
  constructor(
    token: string,
    aesKey: string,
    private readonly corpId: string,
  ) {
    this.#lib = new WXBizMsgCrypt(token, aesKey, corpId || 'aibot');
  }

  signature(timestamp: string, nonce: string, encrypted: string): string {
    return this.#lib.getSignature(timestamp, nonce, encrypted);
  }

  /** Constant-time comparison of msg_signature with the one computed over (token, timestamp, nonce, encrypted). */
  verify(signature: string, timestamp: string, nonce: string, encrypted: string): boolean {
    const expected = Buffer.from(this.signature(timestamp, nonce, encrypted), 'utf8');
    const given = Buffer.from(signature.toLowerCase(), 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Verifies the signature, then decrypts. Throws CallbackCryptoError naming the first check that failed. */
  open(signature: string, timestamp: string, nonce: string, encrypted: string): string {
    if (!this.verify(signature, timestamp, nonce, encrypted)) throw new CallbackCryptoError('signature');
    return this.decrypt(encrypted);
  }

  decrypt(encrypted: string): string {
    if (!BASE64.test(encrypted)) throw new CallbackCryptoError('base64');
    const cipher = Buffer.from(encrypted, 'base64');
    if (cipher.length < BLOCK || cipher.length % BLOCK !== 0) throw new CallbackCryptoError('length');

    const decipher = createDecipheriv('aes-256-cbc', this.#lib.key, this.#lib.iv);
    decipher.setAutoPadding(false);
    const padded = Buffer.concat([decipher.update(cipher), decipher.final()]);

    const pad = padded[padded.length - 1]!;
    if (pad < 1 || pad > BLOCK) throw new CallbackCryptoError('padding');
    for (let i = padded.length - pad; i < padded.length; i++) {
      if (padded[i] !== pad) throw new CallbackCryptoError('padding');
    }
    const plain = padded.subarray(0, padded.length - pad);

    // random(16) | msg_len(4, big-endian) | msg | receiveid
    if (plain.length < 20) throw new CallbackCryptoError('length-field');
    const length = plain.readUInt32BE(16);
    if (length > plain.length - 20) throw new CallbackCryptoError('length-field');
    const message = plain.subarray(20, 20 + length);
    const receiver = plain.subarray(20 + length).toString('latin1');
    if (receiver !== this.corpId) throw new CallbackCryptoError('receiver');
    try {
      return utf8.decode(message);
    } catch {
      throw new CallbackCryptoError('utf8');
    }
  }

  encrypt(message: string): string {
    if (this.corpId) return this.#lib.encrypt(message);
    // random(16) | msg_len(4, big-endian) | msg | receiveid (""), PKCS#7 to 32-byte blocks
    const body = Buffer.from(message, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(body.length);
    const plain = Buffer.concat([randomBytes(16), length, body]);
    const pad = BLOCK - (plain.length % BLOCK);
    const cipher = createCipheriv('aes-256-cbc', this.#lib.key, this.#lib.iv);
    cipher.setAutoPadding(false);
    return Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), cipher.final()]).toString('base64');
  }
}
