// `wharf serve`: run the registry until SIGTERM/SIGINT.
import { Command } from 'commander';
import type { Overrides } from '../../config/load.js';
import { addServerOptions } from '../server-options.js';

export function serveCommand(): Command {
  return addServerOptions(new Command('serve'))
    .description('run the registry (embedded default: blobs and SQLite under ./data, on 127.0.0.1:5000)')
    .addHelpText('after', '\nExamples:\n  wharf serve\n  wharf serve --listen 0.0.0.0:5000 --data /var/lib/wharf\n  wharf serve --config examples/minimal.yaml\n')
    .action(async (opts: Overrides) => {
      // Loaded here, not at the top: the client verbs should not pay for loading the server.
      const { loadConfig, ConfigError } = await import('../../config/load.js');
      const { startRegistry, createLogger } = await import('../../server.js');
      let config;
      try {
        config = loadConfig(opts);
      } catch (e) {
        if (e instanceof ConfigError) {
          process.stderr.write(`wharf serve: ${e.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw e;
      }
      const log = createLogger(config);
      const running = await startRegistry(config, log).catch((e: Error) => {
        throw new Error(`cannot start the registry on ${config.listen}: ${e.message}`);
      });
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info({ signal }, 'shutting down: finishing in-flight requests');
          running.close().then(resolve, (e) => {
            log.error({ err: e }, 'error during shutdown');
            resolve();
          });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      log.info('stopped');
    });
}
