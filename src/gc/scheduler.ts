// Runs garbage collection and upload purging on a schedule inside `wharf serve` (config `gc`). One pass at a
// time per process; a pass that fails is logged and the schedule goes on. Stopping waits for a running pass to
// reach its next step boundary.
import type { Logger } from 'pino';
import type { MetadataStore } from '../metadata/store.js';
import type { StorageDriver } from '../storage/index.js';
import { GarbageCollector } from './collector.js';
import { purgeUploads } from './upload-purger.js';
import { startPeriodic } from '../periodic.js';

export interface GcScheduleOptions {
  intervalMs: number;
  graceMs: number;
  uploadMaxAgeMs: number;
  log: Logger;
  /** Told about every pass, for the metrics (observability/metrics.ts `gcRun`). */
  onPass?: (report: { bytes: number; blobs: number; ms: number; failed?: boolean }) => void;
}

export interface GcSchedule {
  /** Runs one pass now (also what the timer calls). */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

export function startGcSchedule(storage: StorageDriver, metadata: MetadataStore, options: GcScheduleOptions): GcSchedule {
  const collector = new GarbageCollector(storage, metadata);
  return startPeriodic({
    intervalMs: options.intervalMs,
    pass: async (signal) => {
      const started = Date.now();
      try {
        const purged = await purgeUploads(storage, metadata, { maxAgeMs: options.uploadMaxAgeMs, signal });
        const collected = await collector.collect({ graceMs: options.graceMs, signal });
        options.log.info(
          {
            gc: {
              links: collected.links.length,
              blobs: collected.blobs.length,
              bytesReclaimed: collected.bytesReclaimed,
              uploads: purged.uploads.length + purged.orphans.length,
              ms: Date.now() - started,
            },
          },
          'garbage collection done',
        );
        options.onPass?.({ bytes: collected.bytesReclaimed, blobs: collected.blobs.length, ms: Date.now() - started });
      } catch (e) {
        if (!signal.aborted) options.onPass?.({ bytes: 0, blobs: 0, ms: Date.now() - started, failed: true });
        throw e;
      }
    },
    onError: (e) => options.log.error({ err: e }, 'garbage collection failed'),
  });
}
