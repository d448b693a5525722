// npm run bench [-- <name> [options]]: runs one benchmark, or all of them, and prints their figures.
const benchmarks: Record<string, () => Promise<{ run(argv: string[]): Promise<void> }>> = {
  'callback-ack': () => import('./callback-ack.js'),
  'aibot-ack': () => import('./aibot-ack.js'),
  deploy: () => import('./deploy.js'),
  'alert-storm': () => import('./alert-storm.js'),
  'callback-vs-koa': () => import('./callback-vs-koa.js'),
  'callback-ceiling': () => import('./callback-ceiling.js'),
  'storm-vs-alertmanager': () => import('./storm-vs-alertmanager.js'),
  'state-growth': () => import('./state-growth.js'),
  'audit-append': () => import('./audit-append.js'),
  'view-page': () => import('./view-page.js'),
};

const [name, ...argv] = process.argv.slice(2);
const selected = name ? [name] : Object.keys(benchmarks);
for (const key of selected) {
  const load = benchmarks[key];
  if (!load) {
    process.stderr.write(`unknown benchmark "${key}"; known: ${Object.keys(benchmarks).join(', ')}\n`);
    process.exit(2);
  }
  await (await load()).run(name ? argv : []);
}
process.exit(0);
