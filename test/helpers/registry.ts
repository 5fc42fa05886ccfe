// An in-process Wharf on a loopback port with a fresh data directory, for HTTP tests.
import { pino } from 'pino';
import { loadConfig, type Overrides } from '../../src/config/load.js';
import { startRegistry, type RunningRegistry } from '../../src/server.js';
import { tempDir, removeDir } from './processes.js';

export interface TestRegistry {
  url: string;
  data: string;
  running: RunningRegistry;
  close(): Promise<void>;
}

export async function startTestRegistry(overrides: Overrides = {}): Promise<TestRegistry> {
  const data = tempDir('wharf-http-');
  const config = loadConfig({ listen: '127.0.0.1:0', data, ...overrides }, {});
  const running = await startRegistry(config, pino({ level: process.env.WHARF_TEST_LOG ?? 'silent' }));
  return {
    url: running.url,
    data,
    running,
    async close() {
      await running.close();
      removeDir(data);
    },
  };
}
