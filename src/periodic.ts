// Runs one piece of work every so often inside a long-running process (GC, retention). One pass at a time:
// asking for a pass while one runs joins it. The next pass is timed from the end of the previous one. A pass
// that fails is handed to onError (unless the runner is stopping) and the schedule goes on. Stopping cancels
// the timer, aborts the signal the pass was given and waits for a running pass to return.

export interface PeriodicOptions {
  intervalMs: number;
  /** One pass; the signal aborts when the runner is stopped. */
  pass: (signal: AbortSignal) => Promise<void>;
  /** Told about a pass that threw, unless the runner was stopping by then. */
  onError: (err: unknown) => void;
}

export interface PeriodicRunner {
  /** Runs a pass now, or joins the one already running. */
  runOnce(): Promise<void>;
  /** Stops the timer and waits for a running pass. */
  stop(): Promise<void>;
}

export function startPeriodic(options: PeriodicOptions): PeriodicRunner {
  const abort = new AbortController();
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const guarded = async () => {
    try {
      await options.pass(abort.signal);
    } catch (e) {
      if (!abort.signal.aborted) options.onError(e);
    }
  };
  const runOnce = () => (running ??= guarded().finally(() => (running = undefined)));
  const schedule = () => {
    timer = setTimeout(() => {
      void runOnce().finally(() => {
        if (!abort.signal.aborted) schedule();
      });
    }, options.intervalMs);
    timer.unref();
  };
  schedule();
  return {
    runOnce,
    async stop() {
      abort.abort();
      clearTimeout(timer);
      await running;
    },
  };
}
