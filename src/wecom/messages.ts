import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { own } from '../config/own.js';
import { WECOM_USER_ID } from '../config/schema.js';
import type { AibotMessage } from './aibot-messages.js';

// Every value stays a string (MsgId exceeds 2^53), entities are never expanded, element names are matched
// case-insensitively (AgentID and AgentId both occur, wecom-api.md §3.4).
const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  processEntities: false,
  trimValues: true,
  transformTagName: (name) => name.toLowerCase(),
});

export class XmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlError';
  }
}

function parseXml(text: string): Record<string, unknown> {
  if (/<!(DOCTYPE|ENTITY)/i.test(text)) throw new XmlError('DOCTYPE and ENTITY declarations are not accepted');
  let root: Record<string, unknown>;
  try {
    const valid = XMLValidator.validate(text);
    if (valid !== true) throw new XmlError(`not well-formed XML: ${valid.err.msg}`);
    root = parser.parse(text) as Record<string, unknown>;
  } catch (error) {
    // The parser refuses some input by throwing (too deep, reserved names such as __proto__): still the input's fault.
    if (error instanceof XmlError) throw error;
    throw new XmlError(`XML refused: ${(error as Error).message.slice(0, 120)}`);
  }
  const xml = own(root, 'xml');
  if (typeof xml !== 'object' || xml === null) throw new XmlError('no <xml> root element');
  return xml as Record<string, unknown>;
}

function text(fields: Record<string, unknown>, name: string): string | undefined {
  const value = own(fields, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && Object.keys(value).length === 0) return '';
  throw new XmlError(`<${name}> must hold text`);
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

export function parseMessage(xml: string): InboundMessage {
  const fields = parseXml(xml);
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
