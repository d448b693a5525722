import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { CallbackSender } from '../fakes/callback-sender.js';
import { FakeWecom } from '../fakes/wecom-server.js';
import { WECOM, writeConfig } from '../helpers/bot.js';
import { startWekubeProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

const USERS = ['u1', 'u2', 'u3', 'u4', 'u5'];
const PER_USER = 8;

const children: ChildProcess[] = [];
let fake: FakeWecom;
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await fake?.stop();
});

describe('a crash in the middle of a queued burst', () => {
  it('loses nothing and shows nothing twice after the restart', async () => {
    fake = new FakeWecom({ corpId: WECOM.corpId, apps: [{ agentId: WECOM.agentId, secret: WECOM.secret }], users: USERS, latencyMs: 150 });
    await fake.start();
    const { file } = writeConfig({ apiBase: fake.url });

    const first = await startWekubeProcess(file);
    children.push(first.child);
    const sender = new CallbackSender({ url: first.url, ...WECOM });
    const texts = USERS.flatMap((user) => Array.from({ length: PER_USER }, (_, i) => ({ user, text: `burst-${user}-${i}` })));
    await Promise.all(
      USERS.map(async (user) => {
        for (const { text } of texts.filter((t) => t.user === user)) expect((await sender.deliver(sender.text(user, text))).status).toBe(200);
      }),
    );

    // Kill -9 while replies are still queued and some are on the wire.
    await waitFor(() => fake.requests.filter((r) => r.path === '/cgi-bin/message/send').length >= 12);
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    const beforeRestart = fake.deliveries.filter((d) => d.shown).length;
    expect(beforeRestart).toBeLessThan(texts.length);

    const second = await startWekubeProcess(file);
    children.push(second.child);
    await waitFor(() => fake.deliveries.filter((d) => d.shown).length >= texts.length, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));

    for (const user of USERS) {
      const seen = fake.shown(`user:${user}`).map((d) => d.content);
      expect(seen).toHaveLength(PER_USER);
      for (const { text } of texts.filter((t) => t.user === user)) {
        // Each message got exactly one answer: its reply, or (if cut off mid-run) a notice that it was interrupted.
        expect(seen.filter((content) => content.includes(`“${text}”`))).toHaveLength(1);
      }
    }
    expect(fake.deliveries.filter((d) => d.dropped === 'rate-limit')).toHaveLength(0);
    second.child.kill('SIGTERM');
    await new Promise((resolve) => second.child.once('exit', resolve));
  });
});
