import { runDriverSuite } from '../suites/driver.suite.js';
import { FilesystemDriver } from '../../src/storage/drivers/filesystem.js';
import { tempDir, removeDir } from '../helpers/processes.js';

let root = '';
runDriverSuite({
  name: 'filesystem',
  capabilities: { largeObjectBytes: 1024 * 1024 * 1024 },
  async create() {
    root = tempDir('wharf-fs-driver-');
    return new FilesystemDriver({ root });
  },
  async destroy() {
    removeDir(root);
  },
});
