// Times every call of a MetadataStore that returns a promise, by method name, for the metrics. A Proxy that
// calls each method on the store itself (so stores with private fields work unchanged) and wraps each method
// once; methods that return something else (iterators, plain values) pass through untimed.
import type { MetadataStore } from '../metadata/store.js';

export type MetadataHook = (operation: string, ms: number, failed: boolean) => void;

function isPromise(v: unknown): v is Promise<unknown> {
  return typeof (v as Promise<unknown> | undefined)?.then === 'function';
}

export function timeMetadata<T extends MetadataStore>(store: T, hook: MetadataHook): T {
  const wrapped = new Map<string, { method: unknown; timed: unknown }>();
  return new Proxy(store, {
    get(target, key) {
      // Read on the store itself, so getters see the real object (private fields), not the proxy.
      const value: unknown = Reflect.get(target, key);
      if (typeof value !== 'function' || typeof key !== 'string' || key === 'constructor') return value;
      const known = wrapped.get(key);
      if (known !== undefined && known.method === value) return known.timed;
      const method = value as (...args: unknown[]) => unknown;
      const timed = function (...args: unknown[]): unknown {
        const started = performance.now();
        const result = method.apply(target, args);
        if (!isPromise(result)) return result;
        return result.then(
          (v) => {
            hook(key, performance.now() - started, false);
            return v;
          },
          (e: unknown) => {
            hook(key, performance.now() - started, true);
            throw e;
          },
        );
      };
      wrapped.set(key, { method: value, timed });
      return timed;
    },
  });
}
