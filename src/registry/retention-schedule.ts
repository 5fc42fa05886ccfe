// Runs the retention rules on a schedule inside `wharf serve` (config `lifecycle.retentionIntervalMinutes`).
// One run at a time per process; a run that fails is logged and the schedule goes on. Several processes may
// run it at once: each deletes through the normal delete path, and a manifest already gone is skipped.
import type { Logger } from 'pino';
import { startPeriodic } from '../periodic.js';
import type { Retention } from './retention.js';

export interface RetentionSchedule {
  /** Runs the rules now (also what the timer calls). */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

export function startRetentionSchedule(retention: Retention, options: { intervalMs: number; log: Logger }): RetentionSchedule {
  return startPeriodic({
    intervalMs: options.intervalMs,
    pass: async () => {
      const started = Date.now();
      const report = await retention.run();
      if (report.deletedTags + report.deletedManifests > 0 || report.repositories.length > 0) {
        options.log.info({ retention: { repositories: report.repositories.length, tags: report.deletedTags, manifests: report.deletedManifests, ms: Date.now() - started } }, 'retention done');
      }
    },
    onError: (e) => options.log.error({ err: e }, 'retention failed'),
  });
}
