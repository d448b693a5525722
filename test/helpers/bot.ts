import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { startWekube, type Wekube } from '../../src/wekube.js';
import { CallbackSender } from '../fakes/callback-sender.js';
import { FakeWecom, type FakeWecomOptions } from '../fakes/wecom-server.js';

export const WECOM = {
  corpId: 'wwa1b2c3d4e5f60708',
  agentId: 1000002,
  secret: 'test-app-secret',
  token: 'wekubeTestToken01',
  aesKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
};

export const USERS = ['zhangsan', 'lisi', 'wangwu'];

/** A config file for tests: the example's access rules, WeCom pointed at the fake, a fresh data dir. */
export function writeConfig(options: { apiBase: string; dataDir?: string; extra?: Record<string, unknown> }): { file: string; dataDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wekube-bot-'));
  const dataDir = options.dataDir ?? join(dir, 'data');
  const config = {
    locale: 'zh-CN',
    defaultEnvironment: 'test',
    server: { port: 0, host: '127.0.0.1' },
    store: { dataDir },
    wecom: { ...WECOM, apiBase: options.apiBase },
    access: {
      defaultRole: 'viewer',
      roles: {
        viewer: { allow: ['help', 'status', 'history', 'subscribe', 'unsubscribe', 'alerts', 'whoami', 'drill'] },
        developer: { allow: ['*'], environments: ['dev', 'test'] },
        ops: { allow: ['*'], environments: ['*'], approve: true },
      },
      users: { zhangsan: ['developer'], lisi: ['ops'] },
    },
    environments: { test: { namespace: 'shop-test' }, prod: { namespace: 'shop', protected: true, approvals: 1 } },
    ...options.extra,
  };
  const file = join(dir, 'wekube.yaml');
  writeFileSync(file, stringify(config));
  return { file, dataDir };
}

export interface TestBot {
  fake: FakeWecom;
  wekube: Wekube;
  sender: CallbackSender;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startBot(options: { fake?: Partial<FakeWecomOptions>; extra?: Record<string, unknown> } = {}): Promise<TestBot> {
  const fake = new FakeWecom({ corpId: WECOM.corpId, apps: [{ agentId: WECOM.agentId, secret: WECOM.secret }], users: USERS, ...options.fake });
  await fake.start();
  const { file, dataDir } = writeConfig({ apiBase: fake.url, extra: options.extra });
  const config = loadConfig({ file, env: {} });
  const wekube = await startWekube({ config, logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
  const sender = new CallbackSender({ url: wekube.url, ...WECOM });
  return {
    fake,
    wekube,
    sender,
    dataDir,
    async stop() {
      await wekube.stop();
      await fake.stop();
    },
  };
}
