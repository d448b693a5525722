import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/load.js';
import { loadConfig } from '../../src/config/load.js';
import { appVariables, configuredReplicas, loadTemplate, render, TAG } from '../../src/kube/template.js';

const config = loadConfig({ env: {} });
const template = loadTemplate(config);
const app = config.apps['order-service']!;
const variables = (overrides: Partial<Parameters<typeof appVariables>[0]> = {}) =>
  appVariables({ name: 'order-service', app, environment: 'prod', namespace: 'shop', tag: '1.4.2', replicas: 4, changeCause: 'wecom:lisi deploy order-service 1.4.2', ...overrides });

describe('the generic template', () => {
  it('renders the shipped template into a Deployment and a Service with the app settings', () => {
    const [deployment, service] = render(template, variables()) as [Record<string, any>, Record<string, any>];
    expect(deployment.kind).toBe('Deployment');
    expect(deployment.metadata).toMatchObject({ name: 'order-service', namespace: 'shop', annotations: { 'kubernetes.io/change-cause': 'wecom:lisi deploy order-service 1.4.2' } });
    expect(deployment.spec.replicas).toBe(4);
    expect(deployment.spec.template.spec.containers[0].image).toBe('harbor.example.com/shop/order-service:1.4.2');
    expect(deployment.spec.template.spec.containers[0].ports).toEqual([{ name: 'http', containerPort: 8080 }]);
    // Settings the app does not have are left out, not rendered as nulls.
    expect(deployment.spec.template.spec.containers[0]).not.toHaveProperty('readinessProbe');
    expect(deployment.spec.template.spec.containers[0]).not.toHaveProperty('args');
    expect(service.spec.ports[0]).toMatchObject({ port: 8080, targetPort: 'http' });
  });

  it('puts structured settings in place and never lets a value inject YAML', () => {
    const [deployment] = render(template, variables({
      app: { ...app, env: { DB_URL: 'mysql://db\nkind: Secret', MODE: '"prod"' }, args: ['--port=8080'], probes: { readiness: { httpGet: { path: '/ready', port: 8080 } } } },
    })) as [Record<string, any>];
    const container = deployment.spec.template.spec.containers[0];
    expect(container.env).toEqual([{ name: 'DB_URL', value: 'mysql://db\nkind: Secret' }, { name: 'MODE', value: '"prod"' }]);
    expect(container.args).toEqual(['--port=8080']);
    expect(container.readinessProbe).toEqual({ httpGet: { path: '/ready', port: 8080 } });
  });

  it('takes replicas per environment', () => {
    expect(configuredReplicas(app, 'prod')).toBe(4);
    expect(configuredReplicas(app, 'test')).toBe(2);
  });

  it('refuses templates that hold other kinds or leave the namespace', () => {
    expect(() => render([{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x', namespace: '${namespace}' } }], variables())).toThrow(/Deployments and Services, not Secret/);
    expect(() => render([{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: '${app}', namespace: 'kube-system' } }], variables())).toThrow(/must be in namespace/);
    expect(() => render([{ kind: 'Service', metadata: { name: 'x-${env}', namespace: '${namespace}' } }], variables())).toThrow(/\$\{env\} must be a plain value/);
  });

  it('accepts OCI tags only', () => {
    for (const tag of ['1.4.2', 'v2', 'release_2026-11-24', 'a'.repeat(128)]) expect(TAG.test(tag)).toBe(true);
    for (const tag of ['', '-x', '.x', '../../etc', 'a b', 'a:b', 'a'.repeat(129), 'tag;rm']) expect(TAG.test(tag)).toBe(false);
  });

  it('stops start-up on a template that cannot render, naming the file, the line and the problem', () => {
    const shipped = readFileSync(join(config.dir, config.templates.deployment), 'utf8');
    const broken = (from: string, to: string) => {
      expect(shipped).toContain(from);
      const dir = mkdtempSync(join(tmpdir(), 'wekube-template-'));
      writeFileSync(join(dir, 'deployment.yaml'), shipped.replace(from, to));
      return () => loadTemplate({ dir, templates: { deployment: 'deployment.yaml' } } as Config);
    };
    /** The line where `text` starts in the shipped template. */
    const lineOf = (text: string) => shipped.slice(0, shipped.indexOf(text)).split('\n').length;
    // The Service's selector: the typo that once passed start-up and left the Service without endpoints.
    expect(broken('  selector:\n    app: ${app}', '  selector:\n    app: ${ap}')).toThrow(new RegExp(`deployment\\.yaml:${lineOf('  selector:\n    app: ${app}') + 1}: unknown variable \\$\\{ap\\}`));
    expect(broken('  name: ${app}', '  name: ${app')).toThrow(/deployment\.yaml:\d+: "\$\{" is not closed/);
    expect(broken('  replicas: ${replicas}', '  replicas: ${replicas}x')).toThrow(new RegExp(`deployment\\.yaml:${lineOf('  replicas: ${replicas}')}: must be a number`));
    expect(broken('containerPort: ${port}', 'containerPort: "80a"')).toThrow(/must be a number.*not "80a"/);
    expect(() => loadTemplate(config)).not.toThrow();
  });
});
