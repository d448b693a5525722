import cron from 'node-cron';
import type { Logger } from 'pino';
import type { Notify } from '../chat/command.js';
import { msg } from '../chat/reply.js';
import type { Clock, Timer } from '../clock/clock.js';
import type { Config } from '../config/load.js';
import { clockTime } from './report.js';
import type { Checklist } from './checklist.js';
import type { DrillRuns } from './runs.js';

/**
 * `drills.schedules`: when a schedule's cron time comes (in the company's time zone), the drill's checklist is
 * pushed to its chat; if no run of it started within the grace period, one reminder follows, once. What fired
 * and whether the reminder went out are stored, so a restart neither repeats nor forgets them.
 */
export class DrillSchedules {
  #timer: Timer | undefined;
  readonly #tasks;

  constructor(
    private readonly options: { config: Config; checklists: Map<string, Checklist>; runs: DrillRuns; notify: Notify; clock: Clock; logger: Logger },
  ) {
    const { config } = options;
    this.#tasks = config.drills.schedules.map((schedule, index) => ({
      key: `${index}:${schedule.drill}:${schedule.cron}`,
      schedule,
      environment: schedule.environment ?? config.defaultEnvironment,
      task: cron.createTask(schedule.cron, () => undefined, { timezone: config.timezone }),
    }));
  }

  start(): void {
    // Every 20 s: a cron minute is never missed, and a minute that matched fires once (its key is stored).
    this.#timer = this.options.clock.every(20_000, () => this.tick());
    void this.tick();
  }

  stop(): void {
    this.#timer?.cancel();
  }

  /** Environments where the drill is due: a schedule fired and no run started since. */
  async due(drill: string): Promise<string[]> {
    const due: string[] = [];
    for (const entry of this.#tasks.filter((candidate) => candidate.schedule.drill === drill)) {
      const state = await this.options.runs.schedule(entry.key);
      if (state !== undefined && !(await this.options.runs.startedSince(drill, entry.environment, state.dueAt))) due.push(entry.environment);
    }
    return due;
  }

  async tick(): Promise<void> {
    const { clock, runs, config, checklists, notify, logger } = this.options;
    const now = clock.now();
    const minute = new Date(Math.floor(now / 60_000) * 60_000);
    for (const entry of this.#tasks) {
      const checklist = checklists.get(entry.schedule.drill);
      if (!checklist) continue;
      try {
        const state = await runs.schedule(entry.key);
        if (entry.task.match(minute) && state?.firedMinute !== minute.toISOString()) {
          await runs.saveSchedule(entry.key, { firedMinute: minute.toISOString(), dueAt: now, reminded: false });
          logger.info({ drill: checklist.name, environment: entry.environment }, 'drill schedule fired');
          await notify(entry.schedule.to, {
            urgent: true,
            blocks: [
              { type: 'title', text: msg('drill.scheduleDue', { drill: checklist.name, title: checklist.title, env: entry.environment }) },
              { type: 'list', items: checklist.steps.map((step, index) => `${index + 1}. ${step.title}`) },
            ],
            actions: [{ label: msg('action.start'), command: `drill start ${checklist.name} @${entry.environment}`, style: 'primary' }],
          });
          continue;
        }
        const grace = entry.schedule.remindAfter ?? config.drills.remindAfter;
        if (state && !state.reminded && now - state.dueAt >= grace && !(await runs.startedSince(checklist.name, entry.environment, state.dueAt))) {
          await runs.saveSchedule(entry.key, { ...state, reminded: true });
          await notify(entry.schedule.to, {
            urgent: true,
            blocks: [{ type: 'text', text: msg('drill.scheduleRemind', { drill: checklist.name, env: entry.environment, at: clockTime(config.timezone, state.dueAt) }), tone: 'warning' }],
            actions: [{ label: msg('action.start'), command: `drill start ${checklist.name} @${entry.environment}`, style: 'primary' }],
          });
        }
      } catch (error) {
        logger.error({ err: error, drill: checklist.name }, 'drill schedule failed');
      }
    }
  }
}
