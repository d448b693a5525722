// A deploy of 3 replicas from WeCom on the test cluster: time from the callback to the first reply and to the
// final rollout report, and every API request the bot's ServiceAccount made for it, counted from the apiserver's
// audit log (a deploy must watch, not poll). Run: npm run bench -- deploy [--deploys 5]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { auditLogPath } from '../test/cluster/launcher.js';
import { Conversation, startBot } from '../test/helpers/bot.js';
import { ensureCluster, installWekubeRbac, testNamespace } from '../test/helpers/cluster.js';
import { percentile, report } from './report.js';

interface AuditEvent {
  verb: string;
  objectRef?: { resource?: string; subresource?: string };
  user: { username: string };
  requestReceivedTimestamp: string;
  stage: string;
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { deploys: { type: 'string', default: '5' } } });
  const deploys = Number(values.deploys);
  await ensureCluster();
  const namespace = await testNamespace('bench-deploy');
  const kubeconfig = await installWekubeRbac(namespace.name);
  const bot = await startBot({
    extra: {
      environments: { test: { namespace: namespace.name, kubeconfig } },
      access: { defaultRole: 'ops', roles: { ops: { allow: ['*'], approve: true } }, users: {} },
      apps: { 'order-service': { image: 'registry.example/shop/order-service', replicas: 3, maxReplicas: 10 } },
    },
  });
  const chat = new Conversation(bot);
  const serviceAccount = `system:serviceaccount:${namespace.name}:wekube`;
  const firstReply: number[] = [];
  const finalReport: number[] = [];
  const requests: Record<string, number>[] = [];
  try {
    for (let i = 0; i < deploys; i++) {
      const user = ['zhangsan', 'lisi', 'wangwu', 'zhaoliu'][i % 4]!;
      const started = Date.now();
      const from = await chat.send(user, `deploy order-service 1.${i}.0`);
      await chat.expect(user, /开始发布/, from);
      const final = await chat.expect(user, /@test 成功/, from);
      const shown = bot.fake.shown(`user:${user}`);
      firstReply.push(shown[from]!.at - started);
      finalReport.push(shown.find((d) => d.content === final)!.at - started);
      // The audit log is written as requests complete; give the last ones a moment to land.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const events = readFileSync(auditLogPath, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as AuditEvent)
        .filter((e) => e.user.username === serviceAccount && e.stage === 'ResponseComplete' && Date.parse(e.requestReceivedTimestamp) >= started - 50);
      const counts: Record<string, number> = {};
      for (const e of events) {
        const key = `${e.verb} ${e.objectRef?.resource ?? '?'}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''}`;
        counts[key] = (counts[key] ?? 0) + 1;
      }
      requests.push(counts);
    }
  } finally {
    await bot.stop();
    await namespace.remove();
  }
  const last = requests[requests.length - 1]!;
  report('deploy of 3 replicas from WeCom (test control plane, kwok pods Ready at once)', {
    deploys,
    'callback to first reply p50 (ms)': percentile(firstReply, 50),
    'callback to first reply max (ms)': Math.max(...firstReply),
    'callback to final report p50 (ms)': percentile(finalReport, 50),
    'callback to final report max (ms)': Math.max(...finalReport),
    'API requests per deploy': requests.map((counts) => Object.values(counts).reduce((a, b) => a + b, 0)).join(', '),
    'requests of the last deploy': Object.entries(last).sort().map(([key, n]) => `${key} ×${n}`).join(', '),
  });
}
