import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { permissions } from '../../commands/index.js';
import { ConfigError, loadConfig, wecomEnabled } from '../../src/config/load.js';

function write(text: string, extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'wekube-config-'));
  writeFileSync(join(dir, 'wekube.yaml'), text);
  for (const [name, content] of Object.entries(extra)) writeFileSync(join(dir, name), content);
  return join(dir, 'wekube.yaml');
}

const problems = (run: () => unknown): string[] => {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('configuration', () => {
  it('loads the shipped example and leaves WeCom off without credentials', () => {
    const config = loadConfig({ env: {}, cwd: process.cwd() });
    expect(config.locale).toBe('zh-CN');
    expect(config.alerts.digestWindow).toBe(300_000);
    expect(config.apps['order-service']?.replicas).toEqual({ default: 2, prod: 4 });
    expect(wecomEnabled(config)).toBe(false);
  });

  it('lets environment variables override their keys', () => {
    const config = loadConfig({
      env: {
        PORT: '9090',
        WECOM_CORP_ID: 'ww1',
        WECOM_AGENT_ID: '1000002',
        WECOM_SECRET: 's',
        WECOM_TOKEN: 'tok',
        WECOM_AES_KEY: 'a'.repeat(43),
        WEKUBE_DIGEST_WINDOW: '3s',
        WECOM_CALLBACK_MAX_SKEW: '0',
      },
      cwd: process.cwd(),
    });
    expect(config.server.port).toBe(9090);
    expect(config.wecom.agentId).toBe(1000002);
    expect(config.alerts.digestWindow).toBe(3000);
    expect(config.wecom.callbackMaxSkewSeconds).toBe(0);
    expect(wecomEnabled(config)).toBe(true);
  });

  it('names the file, the line, the key and the problem', () => {
    const file = write('locale: zh-CN\naccess:\n  users:\n    zhangsan: [developr]\n');
    const [problem] = problems(() => loadConfig({ file, env: {}, cwd: '/' }));
    expect(problem).toMatch(/wekube\.yaml:4: access\.users\.zhangsan\[0\]: role "developr" is not defined under access\.roles/);
  });

  it('names the variable when the bad value came from the environment', () => {
    expect(problems(() => loadConfig({ env: { WECOM_AES_KEY: 'short' }, cwd: process.cwd() }))[0]).toMatch(
      /^WECOM_AES_KEY \(wecom\.aesKey\): must be exactly 43 letters or digits/,
    );
    expect(problems(() => loadConfig({ env: { WEKUBE_DIGEST_WINDOW: 'five minutes' }, cwd: process.cwd() }))[0]).toMatch(
      /^WEKUBE_DIGEST_WINDOW \(alerts\.digestWindow\): must be a duration/,
    );
  });

  it('refuses a misspelt key, YAML errors, and a half-configured WeCom app', () => {
    expect(problems(() => loadConfig({ file: write('locle: en\n'), env: {}, cwd: '/' }))[0]).toMatch(/wekube\.yaml:1: \(top level\): unknown key "locle"/);
    expect(problems(() => loadConfig({ file: write('apps: [\n'), env: {}, cwd: '/' }))[0]).toMatch(/wekube\.yaml:\d+:\d+: not valid YAML/);
    expect(problems(() => loadConfig({ env: { WECOM_CORP_ID: 'ww1' }, cwd: process.cwd() }))[0]).toMatch(
      /only partly configured; also set wecom\.agentId \(WECOM_AGENT_ID\), wecom\.secret \(WECOM_SECRET\)/,
    );
    expect(problems(() => loadConfig({ env: { WEKUBE_CONFIG: '/nonexistent.yaml' }, cwd: '/' }))[0]).toMatch(/nonexistent\.yaml: file not found/);
  });

  it('reads apps from a file beside the config and validates it', () => {
    const file = write('apps: apps.yaml\n', { 'apps.yaml': 'pay:\n  image: harbor/pay\n  maxReplicas: 0\n' });
    expect(problems(() => loadConfig({ file, env: {}, cwd: '/' }))[0]).toMatch(/apps\.yaml:3: pay\.maxReplicas: /);
    const ok = write('apps: apps.yaml\n', { 'apps.yaml': 'pay:\n  image: harbor/pay\n' });
    expect(loadConfig({ file: ok, env: {}, cwd: '/' }).apps.pay?.image).toBe('harbor/pay');
  });

  it('refuses references to environments and commands that do not exist, on the key\'s own line', () => {
    const file = write(
      [
        'environments:',
        '  test: { namespace: shop-test }',
        '  prod: { namespace: shop }',
        'access:',
        '  roles:',
        '    viewer: { allow: [help, stauts] }',
        '    developer:',
        '      allow: ["*"]',
        '      environments: [dve, test]',
        'apps:',
        '  order:',
        '    image: r/order',
        '    replicas: { default: 2, pre: 3 }',
        '',
      ].join('\n'),
    );
    const found = problems(() => loadConfig({ file, env: {}, commands: permissions }));
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/wekube\.yaml:9: access\.roles\.developer\.environments\[0\]: environment "dve" is not defined/),
        expect.stringMatching(/wekube\.yaml:13: apps\.order\.replicas\.pre: environment "pre" is not defined/),
      ]),
    );
    // Environments first (the schema), then command names once the rest is sound.
    const fixed = write(readFileSync(file, 'utf8').replace('dve', 'prod').replace(', pre: 3', ''));
    expect(problems(() => loadConfig({ file: fixed, env: {}, commands: permissions }))).toEqual([expect.stringMatching(/wekube\.yaml:6: access\.roles\.viewer\.allow\[1\]: no command "stauts"/)]);
    expect(problems(() => loadConfig({ env: {}, cwd: process.cwd(), commands: permissions }))).toEqual([]);
  });

  it('accepts the example config of deploy/ as written', () => {
    const manifest = readFileSync(join(process.cwd(), 'deploy', 'config.yaml'), 'utf8');
    const embedded = (parse(manifest) as { data: { 'wekube.yaml': string } }).data['wekube.yaml'];
    const file = write(embedded, {});
    mkdirSync(join(file, '..', 'templates'));
    writeFileSync(join(file, '..', 'templates', 'deployment.yaml'), readFileSync(join(process.cwd(), 'config', 'templates', 'deployment.yaml')));
    expect(problems(() => loadConfig({ file, env: {}, commands: permissions }))).toEqual([]);
  });

  it('reports a problem under a block value on the key\'s own line', () => {
    const file = write(['environments:', '  test:', '    namespace: shop-test', '    approvals:', '      - 1', ''].join('\n'));
    expect(problems(() => loadConfig({ file, env: {} }))).toEqual([expect.stringMatching(/wekube\.yaml:4: environments\.test\.approvals: /)]);
  });
});
