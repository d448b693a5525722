import { SaxesParser } from 'saxes';
import { WECOM_USER_ID } from '../config/schema.js';
import type { AibotMessage } from './aibot-messages.js';

export class XmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlError';
  }
}

/** A child of `<xml>` that holds more than text (elements of its own, or a name given twice). */
const NOT_TEXT = Symbol('not text');
type Fields = Map<string, string | typeof NOT_TEXT>;

/**
 * The children of a callback's `<xml>` root by lower-cased name (AgentID and AgentId both occur, wecom-api.md
 * §3.4), each value the trimmed text it holds, always a string (MsgId exceeds 2^53). The parser is strict: XML that
 * is not well-formed, a DOCTYPE (and with it any entity declaration) and an undefined entity are refused, so nothing
 * is ever expanded beyond XML's five predefined entities. One pass, no tree: a callback is acked within microseconds.
 */
function parseXml(text: string): Fields {
  const parser = new SaxesParser({ position: false });
  const fields: Fields = new Map();
  let depth = 0;
  let name = '';
  let value = '';
  let nested = false;
  parser.on('doctype', () => {
    throw new XmlError('DOCTYPE and ENTITY declarations are not accepted');
  });
  parser.on('opentag', (tag) => {
    depth++;
    if (depth === 1 && tag.name.toLowerCase() !== 'xml') throw new XmlError('no <xml> root element');
    if (depth === 2) [name, value, nested] = [tag.name.toLowerCase(), '', false];
    if (depth === 3) nested = true;
  });
  const append = (chunk: string) => {
    if (depth === 2) value += chunk;
  };
  parser.on('text', append);
  parser.on('cdata', append);
  parser.on('closetag', () => {
    if (depth === 2) fields.set(name, nested || fields.has(name) ? NOT_TEXT : value.trim());
    depth--;
  });
  try {
    parser.write(text).close();
  } catch (error) {
    if (error instanceof XmlError) throw error;
    throw new XmlError(`not well-formed XML: ${(error as Error).message.slice(0, 120)}`);
  }
  return fields;
}

function text(fields: Fields, name: string): string | undefined {
  const value = fields.get(name);
  if (value === NOT_TEXT) throw new XmlError(`<${name}> must hold text`);
  return value;
}

export interface Envelope {
  toUserName?: string;
  agentId?: string;
  encrypt: string;
}

/** The outer body of a callback POST: `<xml><ToUserName/><AgentID/><Encrypt/></xml>` in any order. */
export function parseEnvelope(body: string): Envelope {
  const fields = parseXml(body);
  const encrypt = text(fields, 'encrypt');
  if (!encrypt) throw new XmlError('<Encrypt> is missing');
  return { encrypt, toUserName: text(fields, 'tousername'), agentId: text(fields, 'agentid') };
}

/** A decrypted message or event, as the chat layer needs it. */
export interface InboundMessage {
  /** Sender's WeCom userid, lower-cased (userids are case-insensitive). */
  from: string;
  createTime: number;
  msgType: string;
  agentId?: string;
  content?: string;
  msgId?: string;
  /** Lower-cased: WeCom sends `click`, WeChat sends `CLICK`; compare case-insensitively. */
  event?: string;
  eventKey?: string;
  taskId?: string;
  responseCode?: string;
  /** Retries resend the same plaintext: MsgId for messages, the event's identifying fields otherwise. */
  dedupKey: string;
  /** Set for a message that came through the 智能机器人 (AI bot): where it was said, how to answer it. */
  aibot?: AibotMessage;
}

/** Control characters XML 1.0 forbids even in CDATA; a user can type them, so they become U+FFFD instead of a refusal. */
const NOT_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

export function parseMessage(xml: string): InboundMessage {
  const fields = parseXml(xml.replace(NOT_XML_CHARS, '\uFFFD'));
  const from = text(fields, 'fromusername');
  const createTime = text(fields, 'createtime');
  const msgType = text(fields, 'msgtype');
  if (!from) throw new XmlError('<FromUserName> is missing');
  // It becomes the recipient of the reply: "a|b" would be two (touser's separator), so only a real userid passes.
  if (!WECOM_USER_ID.test(from)) throw new XmlError('<FromUserName> is not a WeCom userid');
  if (!createTime || !/^\d{1,12}$/.test(createTime)) throw new XmlError('<CreateTime> is missing or not a number');
  if (!msgType) throw new XmlError('<MsgType> is missing');
  const msgId = text(fields, 'msgid');
  if (msgId !== undefined && !/^\d{1,20}$/.test(msgId)) throw new XmlError('<MsgId> is not a number');

  const message: InboundMessage = {
    from: from.toLowerCase(),
    createTime: Number(createTime),
    msgType: msgType.toLowerCase(),
    agentId: text(fields, 'agentid'),
    content: text(fields, 'content'),
    msgId,
    event: text(fields, 'event')?.toLowerCase(),
    eventKey: text(fields, 'eventkey'),
    taskId: text(fields, 'taskid'),
    responseCode: text(fields, 'responsecode'),
    dedupKey: '',
  };
  message.dedupKey = msgId
    ? `msg:${msgId}`
    : ['event', message.from, createTime, message.event ?? message.msgType, message.eventKey ?? '', message.taskId ?? ''].join('|');
  return message;
}
