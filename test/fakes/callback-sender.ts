import { createCipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Sends callbacks the way WeCom does (wecom-api.md §1, §2, §7.1): the inner XML is encrypted with AES-256-CBC
 * (key from EncodingAESKey, IV = key[0:16]) over random(16) | length | msg | corpid, PKCS#7-padded to 32 bytes,
 * signed with sha1(sort(token, timestamp, nonce, encrypt)), and POSTed with msg_signature/timestamp/nonce in the
 * query; a request not answered within the timeout is retried up to three more times, the same envelope each time.
 * Written independently of wekube's code (and checked against the official vectors) so the two can disagree.
 */

export interface SenderOptions {
  url: string;
  token: string;
  aesKey: string;
  corpId: string;
  agentId: number;
  timeoutMs?: number;
  retries?: number;
  /** WeCom's time for the timestamps it signs (a test that drives the bot's clock drives this one too). */
  now?: () => number;
}

export interface Delivered {
  status: number;
  body: string;
  attempts: number;
  /** Milliseconds to the answer of the last attempt. */
  ms: number;
}

let msgIds = 7_000_000_000_000_000_000n;

export function nextMsgId(): string {
  msgIds += BigInt(1 + Math.floor(Math.random() * 1000));
  return msgIds.toString();
}

export function wecomEncrypt(aesKey: string, corpId: string, message: string, prefix: Buffer = Buffer.from(randomBytes(8).toString('hex'))): string {
  const key = Buffer.from(`${aesKey}=`, 'base64');
  const body = Buffer.from(message, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  const plain = Buffer.concat([prefix, length, body, Buffer.from(corpId)]);
  const pad = 32 - (plain.length % 32);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), cipher.final()]).toString('base64');
}

export function wecomSign(token: string, timestamp: string, nonce: string, encrypted: string): string {
  return createHash('sha1').update([token, timestamp, nonce, encrypted].sort().join('')).digest('hex');
}

export function textXml(options: { corpId: string; from: string; content: string; msgId: string; agentId: number; createTime?: number }): string {
  const time = options.createTime ?? Math.floor(Date.now() / 1000);
  return `<xml><ToUserName><![CDATA[${options.corpId}]]></ToUserName>\n<FromUserName><![CDATA[${options.from}]]></FromUserName>\n<CreateTime>${time}</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[${options.content}]]></Content>\n<MsgId>${options.msgId}</MsgId>\n<AgentID>${options.agentId}</AgentID>\n</xml>`;
}

export function eventXml(options: { corpId: string; from: string; event: string; eventKey?: string; agentId: number; createTime?: number; extra?: string }): string {
  const time = options.createTime ?? Math.floor(Date.now() / 1000);
  return `<xml><ToUserName><![CDATA[${options.corpId}]]></ToUserName><FromUserName><![CDATA[${options.from}]]></FromUserName><CreateTime>${time}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[${options.event}]]></Event><EventKey><![CDATA[${options.eventKey ?? ''}]]></EventKey>${options.extra ?? ''}<AgentID>${options.agentId}</AgentID></xml>`;
}

/** A click on a template card's button (wecom-api.md §3.4). */
export function cardClickXml(options: { corpId: string; from: string; taskId: string; key: string; responseCode: string; agentId: number }): string {
  return eventXml({
    corpId: options.corpId,
    from: options.from,
    event: 'template_card_event',
    eventKey: options.key,
    agentId: options.agentId,
    extra: `<TaskId><![CDATA[${options.taskId}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType><ResponseCode><![CDATA[${options.responseCode}]]></ResponseCode>`,
  });
}

export interface RawCallback {
  method?: 'GET' | 'POST';
  query: Record<string, string>;
  body?: string;
}

export class CallbackSender {
  constructor(readonly options: SenderOptions) {}

  /** An envelope for a plaintext message, signed now (or at `timestamp`). */
  envelope(plain: string, overrides: { timestamp?: string; nonce?: string } = {}): RawCallback {
    const { token, aesKey, corpId, agentId } = this.options;
    const encrypted = wecomEncrypt(aesKey, corpId, plain);
    const timestamp = overrides.timestamp ?? String(Math.floor((this.options.now ?? Date.now)() / 1000));
    const nonce = overrides.nonce ?? String(Math.floor(Math.random() * 1e10));
    return {
      method: 'POST',
      query: { msg_signature: wecomSign(token, timestamp, nonce, encrypted), timestamp, nonce },
      body: `<xml><ToUserName><![CDATA[${corpId}]]></ToUserName><Encrypt><![CDATA[${encrypted}]]></Encrypt><AgentID><![CDATA[${agentId}]]></AgentID></xml>`,
    };
  }

  /** URL verification as the admin console does it: GET with an encrypted echostr. */
  verification(echo = String(BigInt(Date.now()) * 1000003n % 10n ** 19n)): { request: RawCallback; echo: string } {
    const { token, aesKey, corpId } = this.options;
    const encrypted = wecomEncrypt(aesKey, corpId, echo);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = String(Math.floor(Math.random() * 1e9));
    return {
      echo,
      request: { method: 'GET', query: { msg_signature: wecomSign(token, timestamp, nonce, encrypted), timestamp, nonce, echostr: encrypted } },
    };
  }

  text(from: string, content: string, msgId = nextMsgId()): RawCallback {
    return this.envelope(textXml({ corpId: this.options.corpId, from, content, msgId, agentId: this.options.agentId }));
  }

  cardClick(from: string, taskId: string, key: string, responseCode: string): RawCallback {
    return this.envelope(cardClickXml({ corpId: this.options.corpId, from, taskId, key, responseCode, agentId: this.options.agentId }));
  }

  /** Delivers like WeCom: up to `retries` more attempts when an attempt times out or the connection fails. */
  async deliver(callback: RawCallback, retry = true): Promise<Delivered> {
    const url = new URL('/wecom/callback', this.options.url);
    // encodeURIComponent, never a raw "+": form decoders turn it into a space (wecom-api.md §1.3).
    url.search = Object.entries(callback.query).map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join('&');
    const attempts = retry ? 1 + (this.options.retries ?? 3) : 1;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      try {
        const response = await fetch(url, {
          method: callback.method ?? 'POST',
          body: callback.method === 'GET' ? undefined : callback.body,
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
        });
        return { status: response.status, body: await response.text(), attempts: attempt, ms: performance.now() - started };
      } catch (error) {
        if (attempt >= attempts) throw error;
      }
    }
  }
}
