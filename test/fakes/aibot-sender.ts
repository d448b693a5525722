import { createDecipheriv, randomBytes } from 'node:crypto';
import type { FakeWecom } from './wecom-server.js';
import { wecomEncrypt, wecomSign } from './callback-sender.js';

/**
 * WeCom's side of the 智能机器人 (AI bot) in API mode, as wecom-aibot.md describes it: JSON callbacks encrypted with
 * the bot's own key and the receive id "", the @-mention in group text, a response_url per message, and for a
 * `stream` answer the refresh polling (every `pollMs`, for at most six minutes from the message) whose every answer
 * replaces what the conversation shows. Written apart from wekube's code so the two can disagree.
 */

export interface AibotSenderOptions {
  url: string;
  token: string;
  aesKey: string;
  fake: FakeWecom;
  /** The bot's name as people @-mention it in groups. */
  botName?: string;
  pollMs?: number;
  now?: () => number;
}

/** One message as the conversation sees it: the live message's latest content, and how often it changed. */
export interface Shown {
  msgId: string;
  conversation: string;
  from: string;
  /** What the stream shows now (each refresh replaces it). */
  content: string;
  finished: boolean;
  /** Distinct contents the stream showed, in order. */
  versions: string[];
  /** HTTP status of the first delivery of the callback. */
  status: number;
  /** The live message's stream id, when the answer was a stream. */
  streamId?: string;
}

let msgIds = 0;

export class AibotSender {
  readonly shown: Shown[] = [];
  readonly #polls = new Set<Promise<void>>();
  #stopped = false;

  constructor(private readonly options: AibotSenderOptions) {}

  get #now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** The envelope WeCom POSTs for a plaintext JSON body. */
  envelope(plain: string, overrides: { timestamp?: string; nonce?: string; aesKey?: string } = {}): { query: URLSearchParams; body: string } {
    const encrypted = wecomEncrypt(overrides.aesKey ?? this.options.aesKey, '', plain);
    const timestamp = overrides.timestamp ?? String(Math.floor(this.#now / 1000));
    const nonce = overrides.nonce ?? String(Math.floor(Math.random() * 1e10));
    return { query: new URLSearchParams({ msg_signature: wecomSign(this.options.token, timestamp, nonce, encrypted), timestamp, nonce }), body: JSON.stringify({ encrypt: encrypted }) };
  }

  async post(envelope: { query: URLSearchParams; body: string }): Promise<{ status: number; reply?: Record<string, unknown>; raw: string; nonce: string }> {
    const response = await fetch(`${this.options.url}/wecom/aibot?${envelope.query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: envelope.body, signal: AbortSignal.timeout(5_000) });
    const raw = await response.text();
    const nonce = envelope.query.get('nonce')!;
    if (response.status !== 200 || !raw) return { status: response.status, raw, nonce };
    return { status: response.status, reply: this.#open(raw, nonce), raw, nonce };
  }

  /** Checks and decrypts a passive reply as WeCom would: signature over its fields, our nonce echoed, receive id "". */
  #open(raw: string, nonce: string): Record<string, unknown> {
    const reply = JSON.parse(raw) as { encrypt: string; msgsignature: string; timestamp: number; nonce: string };
    if (reply.nonce !== nonce) throw new Error(`passive reply nonce ${reply.nonce} is not the callback's ${nonce}`);
    if (wecomSign(this.options.token, String(reply.timestamp), reply.nonce, reply.encrypt) !== reply.msgsignature) throw new Error('passive reply signature does not verify');
    const key = Buffer.from(`${this.options.aesKey}=`, 'base64');
    const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
    decipher.setAutoPadding(false);
    const padded = Buffer.concat([decipher.update(Buffer.from(reply.encrypt, 'base64')), decipher.final()]);
    const plain = padded.subarray(0, padded.length - padded[padded.length - 1]!);
    const length = plain.readUInt32BE(16);
    if (plain.subarray(20 + length).length !== 0) throw new Error('passive reply receive id is not empty');
    return JSON.parse(plain.subarray(20, 20 + length).toString('utf8')) as Record<string, unknown>;
  }

  /** `user` types `text` in a group (`@wekube …` is added) or in single chat with the bot. */
  async say(user: string, text: string, where: { group?: string } = {}, msgId = `aibot-${Date.now()}-${++msgIds}`): Promise<Shown> {
    const conversation = where.group ? `group:${where.group}` : `user:${user}`;
    const body = {
      msgid: msgId,
      aibotid: 'wekube-bot',
      ...(where.group ? { chatid: where.group, chattype: 'group' } : { chattype: 'single' }),
      from: { userid: user },
      response_url: this.options.fake.aibotResponseUrl(conversation),
      msgtype: 'text',
      text: { content: where.group ? `@${this.options.botName ?? 'wekube'} ${text}` : text },
    };
    return this.deliver(JSON.stringify(body), { msgId, conversation, from: user });
  }

  /** Delivers a plaintext callback (WeCom retries the same plaintext); a stream answer is then polled. */
  async deliver(plain: string, about: { msgId: string; conversation: string; from: string }): Promise<Shown> {
    const answer = await this.post(this.envelope(plain));
    let shown = this.shown.find((entry) => entry.msgId === about.msgId);
    if (!shown) {
      shown = { ...about, content: '', finished: false, versions: [], status: answer.status };
      this.shown.push(shown);
    }
    const stream = answer.reply?.msgtype === 'stream' ? (answer.reply.stream as { id: string; finish: boolean; content: string }) : undefined;
    if (stream) {
      shown.streamId = stream.id;
      this.#show(shown, stream);
      if (!stream.finish) this.#poll(shown, stream.id);
    }
    return shown;
  }

  #show(shown: Shown, stream: { finish: boolean; content: string }): void {
    shown.content = stream.content;
    shown.finished = stream.finish;
    if (shown.versions[shown.versions.length - 1] !== stream.content) shown.versions.push(stream.content);
  }

  /** One refresh of a stream, as WeCom polls it: what the live message shows now. */
  async refresh(streamId: string, from: string): Promise<{ finish: boolean; content: string } | undefined> {
    const refresh = { msgid: `refresh-${randomBytes(6).toString('hex')}`, aibotid: 'wekube-bot', chattype: 'single', from: { userid: from }, msgtype: 'stream', stream: { id: streamId } };
    const answer = await this.post(this.envelope(JSON.stringify(refresh)));
    return answer.reply?.msgtype === 'stream' ? (answer.reply.stream as { finish: boolean; content: string }) : undefined;
  }

  /** WeCom's refresh loop for one stream: until it finishes, for at most six minutes from the message. */
  #poll(shown: Shown, streamId: string): void {
    const started = Date.now();
    const work = (async () => {
      while (!this.#stopped && !shown.finished && Date.now() - started < 6 * 60_000) {
        await new Promise((resolve) => setTimeout(resolve, this.options.pollMs ?? 200));
        const stream = await this.refresh(streamId, shown.from).catch(() => undefined);
        if (stream) this.#show(shown, stream);
      }
    })();
    this.#polls.add(work);
    void work.finally(() => this.#polls.delete(work));
  }

  /** Waits until the message's live message finished (or a response_url answer reached its conversation). */
  async final(shown: Shown, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!shown.finished) {
      if (Date.now() > deadline) throw new Error(`the live message of "${shown.msgId}" never finished; it shows:\n${shown.content}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return shown.content;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.allSettled([...this.#polls]);
  }
}
