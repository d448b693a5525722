import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startWekube, type Wekube } from '../../src/wekube.js';
import { waitFor } from '../helpers/wait.js';

let wekube: Wekube | undefined;
afterEach(async () => {
  await wekube?.stop();
});

describe('console channel (no WeCom credentials, a terminal)', () => {
  it('starts without WeCom, takes commands as the console user and prints the replies', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wekube-console-'));
    const config = loadConfig({ env: { WEKUBE_DATA_DIR: dataDir, PORT: '0' } });
    const input = new PassThrough();
    const output = new PassThrough();
    let printed = '';
    output.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const closed = new Promise<void>((resolve) => {
      wekube = undefined;
      void startWekube({ config, logger: pino({ level: 'silent' }), terminal: { input, output }, onTerminalClose: resolve }).then((started) => (wekube = started));
    });
    await waitFor(() => printed.includes('wekube 控制台'));
    expect(printed).toContain('你是 lisi（ops）');
    input.write('ｗｈｏａｍｉ\n');
    await waitFor(() => printed.includes('角色：ops'));
    input.write('部署一下\n');
    await waitFor(() => printed.includes('没有看懂“部署一下”'));
    input.write('deploy order-service\n');
    await waitFor(() => printed.includes('缺少参数 <标签>'));
    const health = await fetch(`${wekube!.url}/readyz`);
    expect(await health.json()).toMatchObject({ ready: true, checks: { store: { ok: true } } });
    input.end();
    await closed;
  });
});
