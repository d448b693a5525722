import { permissions } from '../commands/index.js';
import { ConfigError, loadConfig, wecomEnabled } from './config/load.js';
import { createLogger, startWekube } from './wekube.js';

// The process: load the config (a bad one stops here, naming the file and key), start, stop cleanly on a signal.
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig({ commands: permissions });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`wekube: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }

  // With a terminal and no WeCom, the console channel owns stdout: logs go to stderr.
  const interactive = process.stdin.isTTY === true && !wecomEnabled(config);
  const logger = createLogger(interactive ? 2 : 1);
  const wekube = await startWekube({
    config,
    logger,
    terminal: interactive ? { input: process.stdin, output: process.stdout } : undefined,
    onTerminalClose: () => void shutdown('console closed'),
  });

  let stopping = false;
  async function shutdown(reason: string): Promise<void> {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'shutting down');
    await wekube.stop();
    process.exit(0);
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`wekube: could not start: ${(error as Error).message}\n`);
  process.exit(1);
});
