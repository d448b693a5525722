import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeconfigPath } from '../cluster/launcher.js';
import { ManualClock } from '../helpers/clock.js';
import { ensureCluster } from '../helpers/cluster.js';
import { Conversation, startBot, type TestBot } from '../helpers/bot.js';

// Drill time runs on the clock the bot is given: a check's limit, the schedule and its reminder are driven here by
// a clock the test moves, against the real test cluster. The clock starts at real time (WeCom's callbacks carry
// real timestamps), 30 s before a minute the schedule names.

const OPS = 'lisi';
let bot: TestBot;
let chat: Conversation;
let clock: ManualClock;
let dueAt: string;

beforeAll(async () => {
  await ensureCluster();
  const dir = mkdtempSync(join(tmpdir(), 'wekube-drill-clock-'));
  writeFileSync(
    join(dir, 'ghost-node.yaml'),
    [
      'title: 幽灵节点',
      'rto: 1m',
      'steps:',
      '  - id: ghost-ready',
      '    title: 节点 ghost 就绪',
      '    check: { type: nodes, names: ghost, interval: 5s, limit: 1m }',
      '    onFail: continue',
      '  - id: cause-fault',
      '    title: 制造故障',
      '    instructions: 假装停掉一个组件。',
      '    fault: true',
      '  - id: recover',
      '    title: 恢复',
      '    instructions: 假装恢复。',
      '    check: { type: nodes, interval: 5s, limit: 1m }',
      '    recovery: true',
      '',
    ].join('\n'),
  );
  const due = new Date(Math.ceil((Date.now() + 31_000) / 60_000) * 60_000);
  writeFileSync(
    join(dir, 'guarded.yaml'),
    [
      'title: 带守护的演练',
      'guard: { api: true, writes: false, apps: [no-such-app], interval: 5s, failures: 3 }',
      'steps:',
      '  - id: wait',
      '    title: 等待',
      '    instructions: 什么都不做。',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'two-steps.yaml'), ['title: 两步', 'steps:', '  - { id: first, title: 第一步, instructions: 先做这个。 }', '  - { id: second, title: 第二步, instructions: 再做那个。 }', ''].join('\n'));
  clock = new ManualClock(due.getTime() - 30_000);
  const shanghai = new Date(due.getTime() + 8 * 3_600_000);
  dueAt = `${String(shanghai.getUTCHours()).padStart(2, '0')}:${String(shanghai.getUTCMinutes()).padStart(2, '0')}`;
  bot = await startBot({
    clock,
    fake: { chats: ['ops-oncall'] },
    extra: {
      environments: { test: { namespace: 'default', kubeconfig: kubeconfigPath } },
      drills: { dir, to: [{ chat: 'ops-oncall' }], remindAfter: '30m', schedules: [{ drill: 'ghost-node', cron: `${shanghai.getUTCMinutes()} ${shanghai.getUTCHours()} * * *`, to: { chat: 'ops-oncall' } }] },
    },
  });
  chat = new Conversation(bot);
}, 180_000);

afterAll(async () => {
  await bot?.stop();
});

const drillChat = () => bot.fake.shown('chat:ops-oncall').map((delivery) => delivery.content);

describe('drills on a clock', () => {
  it('a schedule pushes the checklist when due and reminds once when nobody started it', async () => {
    await clock.advance(20_000);
    expect(drillChat().filter((text) => /按计划/.test(text))).toHaveLength(0);
    await clock.advance(30_000);
    await waitUntil(() => drillChat().some((text) => /演练 ghost-node（幽灵节点）@test 按计划今天进行/.test(text)));
    expect(drillChat().find((text) => /按计划/.test(text))).toMatch(/1\. 节点 ghost 就绪/);
    const listed = await chat.ask(OPS, 'drill list', /演练清单/);
    expect(listed).toMatch(/到期未演练：@test/);
    // Half an hour later: one reminder; two hours later still one.
    await clock.advance(31 * 60_000);
    await waitUntil(() => drillChat().some((text) => new RegExp(`提醒：演练 ghost-node @test 计划于 ${dueAt}:\\d\\d 进行，还没有开始`).test(text)));
    await clock.advance(2 * 3_600_000);
    expect(drillChat().filter((text) => /提醒/.test(text))).toHaveLength(1);
  });

  it('a check that never passes fails its step at the limit with the last evidence; the run goes on as the checklist says', async () => {
    const from = await chat.send(OPS, 'drill start ghost-node');
    await chat.expect(OPS, /正在等待“节点 ghost 就绪”的检查通过（还剩 1 分）/, from);
    await clock.advance(30_000);
    expect(chat.seen(OPS).slice(from).some((text) => /检查在 1 分 内没有通过/.test(text))).toBe(false);
    await clock.advance(31_000);
    await chat.expect(OPS, /检查在 1 分 内没有通过，步骤失败：节点 ghost 就绪。.*0\/1 节点 Ready（ghost: \?）/s, from);
    // onFail: continue, so the next step is posted; the fault clock runs on the test's time.
    await chat.expect(OPS, /第 2\/3 步：制造故障/, from);
    await chat.send(OPS, '完成');
    await chat.expect(OPS, /第 3\/3 步：恢复/, from);
    await clock.advance(90_000);
    await chat.send(OPS, '完成 好了');
    const report = await chat.expect(OPS, /演练报告/, from);
    expect(report).toMatch(/结果：失败/);
    expect(report).toMatch(/恢复用时：1 分 30 秒，超过目标 1 分/);
    // Failures first.
    expect(report.indexOf('节点 ghost 就绪')).toBeLessThan(report.indexOf('制造故障'));
    expect(report).toMatch(/检查超时/);
    // The schedule is no longer due once a run started after it fired.
    expect(await chat.ask(OPS, 'drill list', /演练清单/)).not.toMatch(/到期未演练/);
  });

  it('answers clearly when there is nothing to answer, or the answer lacks its reason', async () => {
    expect(await chat.ask(OPS, '完成', /现在没有进行中的演练/)).toBeTruthy();
    const from = await chat.send(OPS, 'drill start ghost-node');
    await chat.expect(OPS, /正在等待/, from);
    expect(await chat.ask(OPS, '完成', /正在检查中，不需要再发完成/)).toBeTruthy();
    expect(await chat.ask(OPS, '跳过', /请说明跳过的原因/)).toBeTruthy();
    expect(await chat.ask(OPS, 'drill start ghost-node', /已经有一个进行中的演练/)).toBeTruthy();
    expect(await chat.ask(OPS, 'drill start no-such-drill', /没有演练“no-such-drill”。可用：ghost-node/)).toBeTruthy();
    expect(await chat.ask(OPS, 'drill frobnicate', /看不懂“frobnicate”/)).toBeTruthy();
    const stopped = await chat.ask(OPS, '停止演练', /紧急停止/);
    expect(stopped).toMatch(/lisi 紧急停止了 test 的演练/);
    await chat.expect(OPS, /结果：已中止/, from);
  });

  it('in WeCom the step card moves on in place: a click on 完成 turns the card into the next step', async () => {
    const from = chat.seen(OPS).length;
    await chat.send(OPS, 'drill start two-steps');
    const first = await chat.card(OPS, from);
    expect(first.delivery.content).toMatch(/第 1\/2 步：第一步/);
    expect(first.button_list!.map((button) => button.text)).toEqual(['完成', '跳过', '失败']);
    await chat.click(OPS, first, 0);
    await waitUntil(() => first.delivery.updates === 1);
    expect(first.delivery.content).toMatch(/第 2\/2 步：第二步/);
    expect(first.delivery.content).toMatch(/✅ 1\. 第一步/);
    // No second card was sent: the first one changed.
    expect(bot.fake.shown(`user:${OPS}`).slice(from).filter((delivery) => delivery.card)).toHaveLength(1);
    // Skip asks for the reason instead of answering, and leaves the card clickable.
    await chat.click(OPS, first.delivery.card!, 1);
    await chat.expect(OPS, /请说明跳过的原因/, from);
    await chat.click(OPS, first.delivery.card!, 0);
    expect(await chat.expect(OPS, /演练报告/, from)).toMatch(/结果：通过/);
  });

  it('the guard pauses a run when the environment breaks beyond what the step expects, and asks to continue or abort', async () => {
    // The bot keeps to WeCom's 30 messages a minute per member on this clock too: a new minute for this test.
    await clock.advance(61_000);
    const from = await chat.send(OPS, 'drill start guarded');
    await chat.expect(OPS, /第 1\/1 步：等待/, from);
    // Each guard round asks the real API server; the next round is due only once that answer is in.
    const round = async () => {
      await clock.advance(5_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
    };
    await round();
    await round();
    expect(chat.seen(OPS).slice(from).some((text) => /守护检查/.test(text))).toBe(false);
    await round();
    const tripped = await chat.expect(OPS, /守护检查发现 test 出现演练预期之外的问题/, from);
    expect(tripped).toMatch(/no-such-app/);
    expect(tripped).toMatch(/\[继续\] drill resume @test/);
    expect(await chat.ask(OPS, '完成', /已被守护检查暂停/)).toBeTruthy();
    expect(await chat.ask(OPS, 'drill status', /状态：已暂停/)).toBeTruthy();
    await chat.ask(OPS, 'drill resume', /lisi 继续了 test 的演练/);
    const from2 = await chat.send(OPS, '完成');
    expect(await chat.expect(OPS, /演练报告/, from2)).toMatch(/结果：通过/);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${condition.toString()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}