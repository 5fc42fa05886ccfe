// Storage selection by URL. Drivers are listed in one explicit map and imported lazily,
// so an SDK for a backend that is not selected is never loaded.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StorageDriver } from './driver.js';
import { CheckedDriver, type CallHook } from './checked.js';

export type { StorageDriver, FileWriter, FileInfo, ByteRange, Opts } from './driver.js';
export { StorageError, isNotFound } from './driver.js';

/** `options` come from the configuration and override what the URL says (secrets belong there). */
type Factory = (url: URL, options: Record<string, unknown>) => Promise<StorageDriver>;

const drivers: Record<string, Factory> = {
  'file:': async (url) => {
    const { FilesystemDriver } = await import('./drivers/filesystem.js');
    return new FilesystemDriver({ root: fileURLToPath(url) });
  },
  's3:': async (url, options) => {
    const { createS3Driver, s3OptionsFrom } = await import('./drivers/s3.js');
    return createS3Driver(s3OptionsFrom(url, options));
  },
  'azure:': async (url, options) => {
    const { createAzureDriver, azureOptionsFrom } = await import('./drivers/azure.js');
    return createAzureDriver(azureOptionsFrom(url, options));
  },
  'memory:': async (url) => {
    const { MemoryDriver } = await import('./drivers/memory.js');
    // memory:?minConcatPart=N behaves like an object store (no appends): it exercises the segmented upload path.
    const min = url.searchParams.get('minConcatPart');
    if (min === null) return new MemoryDriver();
    if (!/^\d+$/.test(min)) throw new Error(`memory: minConcatPart must be a number of bytes, not ${JSON.stringify(min)}`);
    return new MemoryDriver({ objectStore: { minConcatPart: Number(min) } });
  },
};

/** Schemes served by plugins (plugins/loader.ts), in the form `name:`; the built-in ones above cannot be replaced. */
const pluginDrivers = new Map<string, Factory>();

/** Lets a plugin serve storage URLs of a scheme (`name:`); registering the same scheme again replaces it. */
export function registerStorageScheme(scheme: string, factory: Factory): void {
  if (Object.hasOwn(drivers, scheme)) throw new Error(`storage scheme ${scheme} is built in and cannot be replaced`);
  pluginDrivers.set(scheme, factory);
}

export function isBuiltInStorageScheme(scheme: string): boolean {
  return Object.hasOwn(drivers, scheme);
}

/** `file:///var/lib/wharf`, a plain path, `memory:`, `s3://BUCKET/PREFIX?…` or `azure://CONTAINER/PREFIX?…`. */
export function parseStorageURL(value: string): URL {
  if (/^[a-z][a-z0-9+.-]*:/i.test(value) && !/^[a-z]:[\\/]/i.test(value)) return new URL(value);
  const u = new URL('file://');
  u.pathname = resolve(value);
  return u;
}

export async function openStorage(value: string, options: Record<string, unknown> = {}, hook?: CallHook): Promise<StorageDriver> {
  const url = parseStorageURL(value);
  const factory = (Object.hasOwn(drivers, url.protocol) ? drivers[url.protocol] : undefined) ?? pluginDrivers.get(url.protocol);
  if (!factory) {
    const schemes = [...Object.keys(drivers), ...pluginDrivers.keys()].join(', ');
    throw new Error(`unknown storage ${JSON.stringify(value)}: supported schemes are ${schemes} (plugins can add more: docs/extending.md)`);
  }
  return new CheckedDriver(await factory(url, options), hook);
}
