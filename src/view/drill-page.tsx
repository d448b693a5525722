/** @jsxImportSource preact */
import { durationText, formatTime, translate, type Locale, type MessageKey, type Params } from '../chat/i18n.js';
import { textOf } from '../chat/reply.js';
import { clockTime, stepNote } from '../drills/report.js';
import type { DrillRun, StepStatus } from '../drills/runs.js';
import { Timeline, type Span } from './charts.js';
import { Header, Page } from './layout.js';

const STEP_COLORS: Record<StepStatus, string> = { passed: '#2ea121', failed: '#d83931', skipped: '#8f959e', waiting: '#3370ff', checking: '#3370ff', before: '#3370ff', pending: '#dee0e3' };

export interface DrillPageInput {
  locale: Locale;
  timezone: string;
  user: string;
  run: DrillRun;
  now: number;
  href: (changes: Record<string, string | undefined>) => string;
}

/** One drill run: its steps on a time line with the fault-to-recovery span and the target, then each step in full. */
export function DrillPage({ locale, timezone, user, run, now, href }: DrillPageInput) {
  const t = (key: MessageKey, params?: Params) => translate(locale, key, params);
  const time = (at: number) => formatTime(locale, timezone, new Date(at));
  const ended = run.endedAt ?? now;
  const spans: Span[] = run.steps
    .filter((step) => step.startedAt !== undefined)
    .map((step) => ({
      label: step.title,
      from: step.startedAt!,
      to: step.endedAt ?? ended,
      color: STEP_COLORS[step.status],
      note: step.endedAt !== undefined ? durationText(locale, step.endedAt - step.startedAt!) : translate(locale, `drill.step.${step.status}`),
    }));
  const fault = run.faults[0];
  const band = fault ? { from: fault.faultAt, to: fault.recoveredAt ?? ended, label: `${t('view.faultSpan')} ${durationText(locale, (fault.recoveredAt ?? ended) - fault.faultAt)}` } : undefined;
  const mark = fault && run.rtoMs !== undefined ? { at: fault.faultAt + run.rtoMs, label: t('view.rtoMark', { rto: durationText(locale, run.rtoMs) }) } : undefined;
  const title = t('view.drillTitle', { id: run.id, drill: run.drill, title: run.title });
  const colon = locale === 'zh-CN' ? '：' : ': ';
  return (
    <Page locale={locale} title={`${title} · wekube`}>
      <Header locale={locale} title={title} href={href}>
        <p class="sub">{t('view.drillSummary', { env: run.environment, status: translate(locale, `drill.status.${run.status}`), by: run.startedBy, from: time(run.startedAt) })}</p>
      </Header>
      <main>
        {spans.length > 0 ? (
          <section class="card">
            <p class="sub">{t('view.drillChartTitle')}</p>
            <Timeline spans={spans} band={band} mark={mark} label={t('view.drillChartLabel', { steps: spans.length, from: time(run.startedAt), to: time(ended) })} tick={(at) => clockTime(timezone, at.getTime())} />
          </section>
        ) : null}
        <section class="card" data-steps>
          <table>
            <thead>
              <tr>
                <th>#</th>
                <th>{t('view.stepStatus')}</th>
                <th>{t('view.stepBy')}</th>
                <th>{t('view.stepTook')}</th>
              </tr>
            </thead>
            <tbody>
              {run.steps.map((step, index) => {
                const evidence = step.evidence ?? step.beforeEvidence;
                return (
                  <>
                    <tr key={step.id}>
                      <td>{index + 1}</td>
                      <td>
                        <strong>{step.title}</strong>
                        <br />
                        <span style={{ color: STEP_COLORS[step.status] }}>{translate(locale, `drill.step.${step.status}`)}</span>
                        {step.startedAt !== undefined ? ` · ${clockTime(timezone, step.startedAt)}` : ''}
                      </td>
                      <td>{step.by ?? '—'}</td>
                      <td>{step.startedAt !== undefined && step.endedAt !== undefined ? durationText(locale, step.endedAt - step.startedAt) : '—'}</td>
                    </tr>
                    {evidence || step.note ? (
                      <tr>
                        <td />
                        <td colSpan={3} class="note">
                          {step.note ? `${t('view.note')}${colon}${textOf(locale, stepNote(step.note))} ` : ''}
                          {evidence ? `${t('view.evidence')}${colon}${textOf(locale, evidence)}` : ''}
                        </td>
                      </tr>
                    ) : null}
                  </>
                );
              })}
            </tbody>
          </table>
        </section>
        <p class="note">{t('view.signedInAs', { user })}</p>
      </main>
    </Page>
  );
}
