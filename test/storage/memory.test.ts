import { runDriverSuite } from '../suites/driver.suite.js';
import { MemoryDriver } from '../../src/storage/drivers/memory.js';

runDriverSuite({
  name: 'memory',
  capabilities: { largeObjectBytes: 32 * 1024 * 1024, largeObjectReason: 'the memory driver holds every byte in the heap' },
  async create() {
    return new MemoryDriver();
  },
  async destroy() {},
});
