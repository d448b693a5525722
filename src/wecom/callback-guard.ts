import type { Context } from 'koa';
import type { Logger } from 'pino';
import getRawBody from 'raw-body';
import type { CallbackResult } from './callback.js';
import { CallbackCryptoError, type CallbackCrypto } from './crypto.js';

// What both WeCom callbacks (the app's /wecom/callback and the AI bot's /wecom/aibot) check before anything runs:
// the signed query, the body size, the signature and every crypto check, the timestamp window.

/** A callback refused: its status, its result for logs and metrics, and why (logged, never shown). */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly result: CallbackResult,
    readonly detail: string,
  ) {
    super(detail);
  }
}

const SIGNATURE = /^[0-9a-fA-F]{40}$/;

/** msg_signature, timestamp, nonce (and echostr for a URL verification), each checked for shape. */
export function signedQuery(ctx: Context, withEchostr: boolean): { signature: string; timestamp: string; nonce: string; echostr: string } {
  const read = (name: string) => (typeof ctx.query[name] === 'string' ? (ctx.query[name] as string) : undefined);
  const signature = read('msg_signature');
  const timestamp = read('timestamp');
  const nonce = read('nonce');
  const echostr = read('echostr');
  if (!signature || !SIGNATURE.test(signature)) throw new Refusal(400, 'malformed', 'msg_signature missing or not 40 hex digits');
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) throw new Refusal(400, 'malformed', 'timestamp missing or not a number');
  if (!nonce || nonce.length > 64) throw new Refusal(400, 'malformed', 'nonce missing or too long');
  if (withEchostr && !echostr) throw new Refusal(400, 'malformed', 'echostr missing');
  return { signature, timestamp, nonce, echostr: echostr ?? '' };
}

/** The raw body within `limit` bytes; past it the connection is closed rather than read on. */
export async function rawBody(ctx: Context, limit: number): Promise<string> {
  try {
    return await getRawBody(ctx.req, { limit, encoding: 'utf8' });
  } catch (error) {
    const tooLarge = (error as { type?: string }).type === 'entity.too.large';
    ctx.set('Connection', 'close');
    throw new Refusal(tooLarge ? 413 : 400, tooLarge ? 'too-large' : 'malformed', (error as Error).message);
  }
}

/**
 * Verifies the signature, decrypts with every check, then the timestamp window: "stale" is only ever said of an
 * authentic request. A bad signature or receive id is forged (403); anything else malformed (400).
 */
export function opener(crypto: CallbackCrypto, maxSkewSeconds: number, now: () => number) {
  return (signature: string, timestamp: string, nonce: string, encrypted: string): string => {
    try {
      const plain = crypto.open(signature, timestamp, nonce, encrypted);
      const skew = Math.abs(now() / 1000 - Number(timestamp));
      if (maxSkewSeconds > 0 && skew > maxSkewSeconds) throw new Refusal(403, 'stale', `timestamp is ${Math.round(skew)}s from now`);
      return plain;
    } catch (error) {
      if (error instanceof CallbackCryptoError) {
        throw error.reason === 'signature' || error.reason === 'receiver'
          ? new Refusal(403, 'forged', `crypto check failed: ${error.reason}`)
          : new Refusal(400, 'malformed', `crypto check failed: ${error.reason}`);
      }
      throw error;
    }
  };
}

/** Runs a callback handler: a refusal becomes its status and a log line; every outcome is observed with its time. */
export async function guarded(ctx: Context, logger: Logger, observe: ((result: CallbackResult, seconds: number) => void) | undefined, run: () => Promise<CallbackResult>): Promise<void> {
  const started = process.hrtime.bigint();
  let result: CallbackResult;
  try {
    result = await run();
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    result = error.result;
    logger.warn({ result, detail: error.detail, ip: ctx.ip }, 'callback refused');
    ctx.status = error.status;
    ctx.type = 'text/plain';
    ctx.body = error.result;
  }
  observe?.(result, Number(process.hrtime.bigint() - started) / 1e9);
}
