// Which kinds of request are on the wire right now, so that a kill can be aimed at one of them.
import { EventEmitter } from 'node:events';

/** The request kinds a kill can be aimed at. */
export const phases = ['monolithic', 'upload-start', 'patch', 'complete', 'manifest-push', 'tag-move', 'delete-digest', 'delete-tag'] as const;
export type Phase = (typeof phases)[number];

export class InFlight {
  private readonly active = new Map<number, Phase>();
  private readonly events = new EventEmitter();
  private nextId = 0;

  /** Runs `send` as a request of kind `phase`, announcing its start before it is sent. */
  async track<T>(phase: Phase, send: () => Promise<T>): Promise<T> {
    const id = this.nextId++;
    this.active.set(id, phase);
    this.events.emit('start', phase);
    try {
      return await send();
    } finally {
      this.active.delete(id);
    }
  }

  has(phase: Phase): boolean {
    return [...this.active.values()].includes(phase);
  }

  snapshot(): Phase[] {
    return [...this.active.values()];
  }

  /** Resolves true when a request of kind `phase` starts, false after `timeoutMs` or on abort. */
  nextStart(phase: Phase, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (v: boolean) => {
        clearTimeout(timer);
        this.events.off('start', onStart);
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const onStart = (p: Phase) => p === phase && done(true);
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(false), Math.max(0, timeoutMs));
      this.events.on('start', onStart);
      signal.addEventListener('abort', onAbort);
      if (signal.aborted) done(false);
    });
  }
}
