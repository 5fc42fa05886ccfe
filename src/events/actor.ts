// Who is making the current request, carried along the async calls it makes (AsyncLocalStorage), so that the
// metadata store can name the actor in the events it writes without every layer passing it down. The HTTP
// app runs each handler inside runAs(); tools and tests run outside it and record no actor.
import { AsyncLocalStorage } from 'node:async_hooks';

const current = new AsyncLocalStorage<{ actor: string | undefined }>();

/** Runs fn with `actor` as the authenticated user (undefined: anonymous). */
export function runAs<T>(actor: string | undefined, fn: () => T): T {
  return current.run({ actor }, fn);
}

/** The authenticated user of the request being served, if any. Read it when a call starts, not in a callback. */
export function currentActor(): string | undefined {
  return current.getStore()?.actor;
}
