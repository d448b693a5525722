import { z } from 'zod';
import { WECOM_USER_ID } from '../config/schema.js';

// The 智能机器人 (AI bot) callback's decrypted JSON (wecom-aibot.md §1.3.3–§1.3.5). Only what wekube uses is read;
// the rest is ignored, so a field WeCom adds later breaks nothing.

const message = z.object({
  msgid: z.string().min(1).max(128),
  aibotid: z.string().max(128).optional(),
  chatid: z.string().max(128).optional(),
  chattype: z.enum(['single', 'group']).optional(),
  // It becomes the user commands run as and the one approvals name: only a real userid passes.
  from: z.object({ userid: z.string().regex(WECOM_USER_ID) }),
  response_url: z.string().url().max(2048).optional(),
  msgtype: z.string().min(1).max(32),
  text: z.object({ content: z.string().max(64 * 1024) }).optional(),
  voice: z.object({ content: z.string().max(64 * 1024) }).optional(),
  mixed: z.object({ msg_item: z.array(z.object({ msgtype: z.string().max(32), text: z.object({ content: z.string().max(64 * 1024) }).optional() })).max(100) }).optional(),
  stream: z.object({ id: z.string().max(256) }).optional(),
  event: z
    .object({
      eventtype: z.string().max(64),
      template_card_event: z
        .object({ event_key: z.string().max(1024).optional(), eventkey: z.string().max(1024).optional(), task_id: z.string().max(128).optional() })
        .optional(),
    })
    .optional(),
});

/** A message or event from the AI bot, as wekube handles it. */
export interface AibotMessage {
  msgId: string;
  /** `single`: a one-to-one chat with the bot; `group`: the bot was @-mentioned in a group. */
  chatType: 'single' | 'group';
  chatId?: string;
  from: string;
  msgType: string;
  /** The text typed (or the transcribed voice), with the @-mention of the bot taken off. */
  text?: string;
  responseUrl?: string;
  /** A stream refresh: WeCom asks what the live message `streamId` shows now. */
  streamId?: string;
  eventType?: string;
  /** A card's button: the command it stands for. */
  eventKey?: string;
  taskId?: string;
}

export class AibotMessageError extends Error {}

export function parseAibotMessage(plain: string): AibotMessage {
  let json: unknown;
  try {
    json = JSON.parse(plain);
  } catch {
    throw new AibotMessageError('the decrypted callback is not JSON');
  }
  const parsed = message.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AibotMessageError(`callback field ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  const m = parsed.data;
  const chatType = m.chattype ?? (m.chatid ? 'group' : 'single');
  // Voice arrives transcribed; a mixed message (text and images) is read by its text parts.
  const typed =
    m.msgtype === 'voice' ? m.voice?.content
    : m.msgtype === 'mixed' ? m.mixed?.msg_item.flatMap((item) => (item.msgtype === 'text' && item.text ? [item.text.content] : [])).join(' ')
    : m.text?.content;
  const card = m.event?.template_card_event;
  return {
    msgId: m.msgid,
    chatType,
    chatId: m.chatid,
    from: m.from.userid.toLowerCase(),
    msgType: m.msgtype,
    text: typed === undefined ? undefined : withoutMention(typed, chatType),
    responseUrl: m.response_url,
    streamId: m.stream?.id,
    eventType: m.event?.eventtype,
    eventKey: card?.event_key ?? card?.eventkey,
    taskId: card?.task_id,
  };
}

/**
 * In a group the text carries the @-mention of the bot ("@wekube status order-service"): mentions at the start are
 * dropped before the command is read. In single chat the text is the command as typed.
 */
export function withoutMention(text: string, chatType: 'single' | 'group'): string {
  const trimmed = text.trim();
  return chatType === 'group' ? trimmed.replace(/^(?:[@＠]\S+[\s\u2005\u00a0]*)+/u, '').trim() : trimmed;
}
