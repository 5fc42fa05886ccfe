// The memory driver behaving like an object store (no appends, 1 KiB minimum concat part), so the shared suite
// and the segmented upload path run without a real object store.
import { runDriverSuite } from '../suites/driver.suite.js';
import { MemoryDriver } from '../../src/storage/drivers/memory.js';

runDriverSuite({
  name: 'memory (object-store mode)',
  capabilities: { largeObjectBytes: 32 * 1024 * 1024, largeObjectReason: 'the memory driver holds every byte in the heap' },
  async create() {
    return new MemoryDriver({ objectStore: { minConcatPart: 1024 } });
  },
  async destroy() {},
});
