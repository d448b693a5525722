import type { Logger } from 'pino';
import { msg, type Reply } from '../chat/reply.js';
import { systemClock, type Clock, type Timer } from '../clock/clock.js';
import { recipientKey, recipientLabel, type Recipient } from '../config/schema.js';
import type { FailedEntry } from './outbox.js';

export interface GiveUpReportOptions {
  /** Who hears of messages given up (ops); the recipient a message failed for is never told through itself. */
  recipients: () => Recipient[];
  send: (to: Recipient, reply: Reply) => Promise<void>;
  logger: Logger;
  /** Give-ups within this long are reported in one message. */
  windowMs?: number;
  clock?: Clock;
}

/**
 * A message the outbox gave up is never silent: besides the metric and the log line, ops get a message by
 * another route. Give-ups are gathered for a while and reported together, so an outage that fails a thousand
 * messages costs each ops member one message per window, not a thousand.
 */
export function giveUpReporter(options: GiveUpReportOptions): { report: (failed: FailedEntry) => void; stop: () => void } {
  const windowMs = options.windowMs ?? 5 * 60_000;
  let pending: FailedEntry[] = [];
  const clock = options.clock ?? systemClock;
  let timer: Timer | undefined;

  const flush = () => {
    timer = undefined;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    const latest = batch[batch.length - 1]!;
    const failedFor = new Set(batch.map((failed) => recipientKey(failed.entry.target)));
    const reply: Reply = {
      urgent: true,
      blocks: [{ type: 'text', tone: 'warning', text: msg('outbox.givenUp', { count: batch.length, to: recipientLabel(latest.entry.target), reason: latest.reason.slice(0, 200) }) }],
    };
    for (const to of options.recipients()) {
      if (failedFor.has(recipientKey(to))) continue;
      options.send(to, reply).catch((error: Error) => options.logger.error({ err: error }, 'could not queue the report of messages given up'));
    }
    timer = clock.after(windowMs, () => (pending.length > 0 ? flush() : (timer = undefined)));
  };

  return {
    report(failed) {
      pending.push(failed);
      if (pending.length > 1000) pending.shift();
      if (!timer) {
        timer = clock.after(1_000, flush);
      }
    },
    stop() {
      timer?.cancel();
    },
  };
}
