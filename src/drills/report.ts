import { durationText, translate, type Locale } from '../chat/i18n.js';
import { msg, type Block, type Reply, type Text } from '../chat/reply.js';
import type { Config } from '../config/load.js';
import { substitute, type StepSpec } from './checklist.js';
import type { DrillRun, FaultClock, StepRecord } from './runs.js';

/** "10:02:03" in the company's time zone. */
export function clockTime(timeZone: string, at: number): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(new Date(at));
}

/** A step's note as people read it: the bot's own notes (the check's limit, a failed precondition) in words. */
export function stepNote(note: string): Text {
  return note === 'limit' ? msg('drill.noteLimit') : note === 'precondition' ? msg('drill.notePrecondition') : note;
}

/** One fault's time to recovery against the target: "恢复用时 42 秒，在目标 5 分 之内。" */
export function recoveryText(locale: Locale, run: DrillRun, clock: FaultClock): Text {
  if (clock.recoveredAt === undefined) return msg('drill.notRecovered');
  const took = clock.recoveredAt - clock.faultAt;
  if (run.rtoMs === undefined) return msg('drill.recovered', { took: durationText(locale, took) });
  return msg(took <= run.rtoMs ? 'drill.recoveredWithin' : 'drill.recoveredLate', { took: durationText(locale, took), rto: durationText(locale, run.rtoMs) });
}

/** Every fault of the run with its time to recovery, for the report and the status. */
function recoveries(locale: Locale, run: DrillRun, now: number): Text {
  if (run.faults.length === 0) return msg('drill.noFault');
  const title = (id: string) => run.steps.find((step) => step.id === id)?.title ?? id;
  const [separator, colon] = locale === 'zh-CN' ? ['；', '：'] : ['; ', ': '];
  return run.faults.flatMap((clock, index) => [
    index > 0 ? separator : '',
    run.faults.length > 1 ? `${title(clock.fault)}${colon}` : '',
    clock.recoveredAt === undefined ? msg('drill.faultFor', { took: durationText(locale, now - clock.faultAt) }) : recoveryText(locale, run, clock),
  ]);
}

const ICON: Record<StepRecord['status'], string> = { pending: '◻️', before: '⏳', waiting: '▶️', checking: '⏳', passed: '✅', failed: '❌', skipped: '⏭️' };

/** One line per step: icon, number, title, and how it stands. */
function checklistLines(run: DrillRun, locale: Locale): Text[] {
  return run.steps.map((step, index) => {
    const parts: Text[] = [`${ICON[step.status]} ${index + 1}. ${step.title}`];
    if (step.endedAt !== undefined && step.startedAt !== undefined) parts.push(` (${durationText(locale, step.endedAt - step.startedAt)})`);
    return parts;
  });
}

const header = (run: DrillRun): Text => msg('drill.header', { id: run.id, drill: run.drill, title: run.title, env: run.environment });

/** The current step as the people doing it read it: what to do, what the bot checks after, buttons to answer. */
export function renderStep(run: DrillRun, spec: StepSpec, locale: Locale): Reply {
  const step = run.steps[run.current]!;
  const check = run.checks[step.id]?.check;
  const blocks: Block[] = [
    { type: 'title', text: [header(run), ' · ', msg('drill.stepOf', { n: run.current + 1, total: run.steps.length, step: step.title })] },
  ];
  if (spec.instructions) blocks.push({ type: 'text', text: (substitute(spec.instructions, run.vars) as string).trim() });
  const fields: { label: Text; value: Text }[] = [];
  if (spec.who) fields.push({ label: msg('drill.who'), value: spec.who });
  if (check) fields.push({ label: msg('drill.thenCheck'), value: msg('drill.checkBrief', { type: check.type, limit: Math.round(check.limit / 1000) }) });
  if (spec.fault) fields.push({ label: msg('drill.mark'), value: msg('drill.markFault') });
  if (spec.recovery) fields.push({ label: msg('drill.mark'), value: msg('drill.markRecovery') });
  if (fields.length > 0) blocks.push({ type: 'fields', fields });
  if (step.beforeEvidence) blocks.push({ type: 'text', text: [msg('drill.preconditionSaw'), step.beforeEvidence], tone: 'muted' });
  blocks.push({ type: 'list', items: checklistLines(run, locale) });
  blocks.push({ type: 'text', text: msg('drill.answerHint', { env: run.environment }), tone: 'muted' });
  return {
    urgent: true,
    blocks,
    actions: [
      { label: msg('action.done'), command: `drill done @${run.environment}`, style: 'primary' },
      { label: msg('action.skip'), command: `drill skip @${run.environment}` },
      { label: msg('action.fail'), command: `drill fail @${run.environment}`, style: 'danger' },
    ],
  };
}

/** `drill status`: the whole run as it stands. */
export function renderStatus(run: DrillRun, config: Config, now: number): Reply {
  const step = run.steps[run.current];
  const fields = [
    { label: msg('drill.field.status'), value: msg(`drill.status.${run.status}`) },
    { label: msg('drill.field.elapsed'), value: durationText(config.locale, now - run.startedAt) },
    { label: msg('drill.field.startedBy'), value: `${run.startedBy} ${clockTime(config.timezone, run.startedAt)}` },
  ];
  if (step) fields.push({ label: msg('drill.field.current'), value: `${run.current + 1}. ${step.title} (${translate(config.locale, `drill.step.${step.status}`)})` });
  if (run.faults.length > 0) fields.push({ label: msg('drill.field.recovery'), value: recoveries(config.locale, run, now) });
  const blocks: Block[] = [{ type: 'title', text: header(run) }, { type: 'fields', fields }, { type: 'list', items: checklistLines(run, config.locale) }];
  const evidence = step?.evidence ?? step?.beforeEvidence;
  if (evidence && (step?.status === 'checking' || step?.status === 'before')) blocks.push({ type: 'text', text: [msg('drill.lastSaw'), evidence], tone: 'muted' });
  return { blocks };
}

/**
 * The report at the end: result, total time, time to recovery against the target, then every step with who, when,
 * how long, result, note and evidence, failures first. Long reports are split into numbered messages by the channel.
 */
export function renderReport(run: DrillRun, config: Config, now: number): Reply {
  const { locale, timezone } = config;
  const ended = run.endedAt ?? now;
  const tone = run.status === 'passed' ? 'success' : run.status === 'aborted' ? 'warning' : 'error';
  const fields = [
    { label: msg('drill.field.result'), value: msg(`drill.status.${run.status}`) },
    { label: msg('drill.field.total'), value: `${durationText(locale, ended - run.startedAt)} (${clockTime(timezone, run.startedAt)}–${clockTime(timezone, ended)})` },
    { label: msg('drill.field.recovery'), value: recoveries(locale, run, ended) },
    { label: msg('drill.field.people'), value: run.participants.join(', ') },
  ];
  const blocks: Block[] = [{ type: 'title', text: [msg('drill.reportTitle'), header(run)], tone }, { type: 'fields', fields }];
  if (run.reason) blocks.push({ type: 'text', text: msg(run.status === 'aborted' ? 'drill.abortedBecause' : 'drill.failedAt', { reason: run.reason, user: run.endedBy ?? '' }), tone });
  const order = (step: StepRecord) => (step.status === 'failed' ? 0 : 1);
  const steps = run.steps.map((step, index) => ({ step, index })).sort((a, b) => order(a.step) - order(b.step) || a.index - b.index);
  blocks.push({
    type: 'list',
    items: steps.map(({ step, index }) => {
      const parts: Text[] = [`${ICON[step.status]} ${index + 1}. ${step.title} — `, msg(`drill.step.${step.status}`)];
      if (step.by) parts.push(` · ${step.by}`);
      if (step.startedAt !== undefined) parts.push(` · ${clockTime(timezone, step.startedAt)}`);
      if (step.startedAt !== undefined && step.endedAt !== undefined) parts.push(` · ${durationText(locale, step.endedAt - step.startedAt)}`);
      if (step.note) parts.push(' · ', stepNote(step.note));
      const evidence = step.evidence ?? step.beforeEvidence;
      if (evidence) parts.push(' · ', evidence);
      return parts;
    }),
  });
  return { urgent: true, blocks };
}
