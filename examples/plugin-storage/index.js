// Example Wharf plugin (plain JavaScript, no dependencies): the storage scheme `prefixed:NAME`.
// Every object lives under NAME/ in another storage, the "inner" one: by default the filesystem under the
// data directory (DATA/blobs), or any storage URL given as storageOptions.inner (a path, file://, s3://, …,
// with storageOptions.innerOptions for that driver). Several registries can so share one directory or
// bucket, each under its own prefix.
//
//   plugins: ["./plugin-storage"]
//   storage: "prefixed:team-a"
//   storageOptions: { inner: "/var/lib/wharf/shared-blobs" }
//
// Wharf checks the driver this returns against its StorageDriver interface when it opens it, and the shared
// driver suite (test/suites/driver.suite.ts) runs on it in test/plugins/example-plugin.test.ts.
import { join } from 'node:path';

const segment = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** The prefix of `prefixed:team-a` or `prefixed://team-a/x`: slash-separated plain segments. */
function prefixOf(url) {
  const prefix = `${url.host}${url.pathname}`.replace(/^\/+|\/+$/g, '');
  if (prefix === '' || !prefix.split('/').every((s) => segment.test(s))) {
    throw new Error(`${url.href}: the prefix must be one or more segments of letters, digits, '.', '_' and '-', e.g. prefixed:team-a`);
  }
  return prefix;
}

class PrefixedDriver {
  constructor(inner, prefix) {
    this.inner = inner;
    this.prefix = prefix;
    this.name = `prefixed(${inner.name})`;
    this.capabilities = inner.capabilities;
    if (typeof inner.redirectURL === 'function') {
      this.redirectURL = (path, o) => inner.redirectURL(this.full(path), o);
    }
  }

  full(path) {
    return `${this.prefix}/${path}`;
  }

  /** The path as the registry named it: the inner driver's path without the prefix. */
  relative(path) {
    return path.startsWith(`${this.prefix}/`) ? path.slice(this.prefix.length + 1) : path;
  }

  getContent(path, o) {
    return this.inner.getContent(this.full(path), o);
  }

  putContent(path, data, o) {
    return this.inner.putContent(this.full(path), data, o);
  }

  reader(path, range, o) {
    return this.inner.reader(this.full(path), range, o);
  }

  writer(path, append, o) {
    return this.inner.writer(this.full(path), append, o);
  }

  async stat(path, o) {
    const info = await this.inner.stat(this.full(path), o);
    return { ...info, path: this.relative(info.path) };
  }

  async list(path, o) {
    return (await this.inner.list(this.full(path), o)).map((p) => this.relative(p));
  }

  async *walk(path, o) {
    for await (const info of this.inner.walk(this.full(path), o)) yield { ...info, path: this.relative(info.path) };
  }

  move(from, to, o) {
    return this.inner.move(this.full(from), this.full(to), o);
  }

  concat(sources, dest, o) {
    return this.inner.concat(sources.map((s) => this.full(s)), this.full(dest), o);
  }

  delete(path, o) {
    return this.inner.delete(this.full(path), o);
  }

  async close() {
    await this.inner.close?.();
  }
}

/** Called by Wharf at start with its plugin API (docs/extending.md). */
export function register(api) {
  if (api.apiVersion !== 1) throw new Error(`this plugin knows Wharf plugin API version 1, not ${api.apiVersion}`);
  api.storageDriver('prefixed', async (url, options) => {
    const prefix = prefixOf(url);
    const inner = typeof options.inner === 'string' && options.inner !== '' ? options.inner : join(api.dataDir, 'blobs');
    const innerOptions = typeof options.innerOptions === 'object' && options.innerOptions !== null ? options.innerOptions : {};
    const driver = await api.openStorage(inner, innerOptions);
    api.log.info({ prefix, inner: driver.name }, `storage prefixed:${prefix} over ${driver.name}`);
    return new PrefixedDriver(driver, prefix);
  });
}
