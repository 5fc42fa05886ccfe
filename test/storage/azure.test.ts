// The Azure Blob driver against a real azurite (started here, in memory), twice through the shared suite:
// - plainly, with the default 8 MiB blocks. azurite has no Put Block From URL (it answers 501), so the driver's
//   server-side copies fall back to streaming there;
// - through a small proxy that adds Put Block From URL to azurite (it reads the source URL, whose SAS azurite
//   checks, and stages the bytes as a plain block), with tiny blocks so every writer and copy spans many blocks.
// Then what the suite does not cover: concat split into ranges, SAS redirects, races, configuration.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import { runDriverSuite } from '../suites/driver.suite.js';
import { AzureDriver, azureOptionsFrom, createAzureDriver, fromURL, type AzureOptions } from '../../src/storage/drivers/azure.js';
import { loadConfig } from '../../src/config/load.js';
import { projectRoot } from '../helpers/processes.js';
import { CheckedDriver } from '../../src/storage/checked.js';
import { StorageError, isNotFound } from '../../src/storage/driver.js';
import { startAzurite, type AzuriteService } from '../helpers/services.js';

let azurite: Promise<AzuriteService> | undefined;
/** One azurite for this file, started on first use. */
function emulator(): Promise<AzuriteService> {
  return (azurite ??= startAzurite());
}

let containers = 0;
/** A fresh container (the driver never creates one) and a driver on it. */
async function freshDriver(opts: Partial<AzureOptions> = {}, endpoint?: string): Promise<AzureDriver> {
  const az = await emulator();
  const container = `wharf-${process.pid}-${++containers}`;
  await service(az).getContainerClient(container).create();
  return createAzureDriver({ container, account: az.accountName, accountKey: az.accountKey, endpoint: endpoint ?? az.endpoint, ...opts }, {});
}

function service(az: AzuriteService): BlobServiceClient {
  return new BlobServiceClient(az.endpoint, new StorageSharedKeyCredential(az.accountName, az.accountKey));
}

async function dropContainer(d: AzureDriver): Promise<void> {
  await d.container.deleteIfExists();
}

/** Suite factory hooks: the suite wraps the driver, so the factory remembers its own to drop the container. */
function suiteDriver(make: () => Promise<AzureDriver>) {
  let driver: AzureDriver | undefined;
  return {
    async create() {
      driver = await make();
      return driver;
    },
    async destroy() {
      if (driver) await dropContainer(driver);
    },
  };
}

interface PutBlockFromURLCall {
  blob: string;
  range: string | undefined;
}

interface Shim {
  endpoint: string;
  calls: PutBlockFromURLCall[];
  /** Requests that read blob bytes through the proxy (GET of a blob), i.e. bytes passing through the driver. */
  blobReads: string[];
  close(): Promise<void>;
}

let shimStarted: Promise<Shim> | undefined;

/** The proxy that gives azurite Put Block From URL. Every other request passes through unchanged. */
function shim(): Promise<Shim> {
  return (shimStarted ??= (async () => {
    const az = await emulator();
    const target = new URL(az.endpoint);
    const containerOf = (name: string): ContainerClient => service(az).getContainerClient(name);
    const calls: PutBlockFromURLCall[] = [];
    const blobReads: string[] = [];
    const server: Server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://shim');
      const source = req.headers['x-ms-copy-source'];
      if (req.method === 'PUT' && url.searchParams.get('comp') === 'block' && typeof source === 'string') {
        req.resume();
        void (async () => {
          const range = req.headers['x-ms-source-range'] as string | undefined;
          const src = new URL(source);
          src.host = target.host;
          const got = await fetch(src, { headers: range ? { range } : {} });
          const body = Buffer.from(await got.arrayBuffer());
          if (got.status >= 300) {
            res.writeHead(got.status, { 'x-ms-error-code': 'CannotVerifyCopySource', 'content-type': 'application/xml' });
            res.end(`<?xml version="1.0" encoding="utf-8"?><Error><Code>CannotVerifyCopySource</Code><Message>source answered ${got.status}</Message></Error>`);
            return;
          }
          const [, , container, ...blob] = url.pathname.split('/');
          const name = decodeURIComponent(blob.join('/'));
          await containerOf(container!).getBlockBlobClient(name).stageBlock(url.searchParams.get('blockid')!, body, body.length);
          calls.push({ blob: name, range });
          res.writeHead(201, { 'x-ms-request-id': 'shim', 'x-ms-version': '2025-11-05', 'content-length': '0' });
          res.end();
        })().catch((e: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(e));
        });
        return;
      }
      if (req.method === 'GET' && !url.searchParams.has('comp') && !url.searchParams.has('restype')) blobReads.push(url.pathname);
      const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      up.on('error', (e) => {
        res.destroy(e);
      });
      req.pipe(up);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    return {
      endpoint: `http://127.0.0.1:${port}${target.pathname}`,
      calls,
      blobReads,
      close: () =>
        new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections(); // idle keep-alive connections would hold close() for seconds
        }),
    };
  })());
}

after(async () => {
  if (shimStarted) await (await shimStarted).close();
  if (azurite) await (await azurite).stop();
});

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

runDriverSuite({
  name: 'azure (azurite)',
  capabilities: { largeObjectBytes: 1024 * 1024 * 1024 },
  ...suiteDriver(() => freshDriver()),
});

runDriverSuite({
  name: 'azure (azurite + Put Block From URL proxy, 64 KiB blocks)',
  capabilities: { largeObjectBytes: 32 * 1024 * 1024, largeObjectReason: 'the 1 GiB case runs above; here 512 blocks of 64 KiB through the proxy' },
  ...suiteDriver(async () => freshDriver({ blockSize: 64 * 1024, copyBlockSize: 100 * 1024 }, (await shim()).endpoint)),
});

describe('azure driver', () => {
  test('concat splits large sources into ranges and copies on the server', async () => {
    const proxy = await shim();
    const d = await freshDriver({ blockSize: 64 * 1024, copyBlockSize: 100 * 1024 }, proxy.endpoint);
    try {
      const parts = [randomBytes(250 * 1024 + 7), randomBytes(1), Buffer.alloc(0), randomBytes(100 * 1024), randomBytes(3)];
      await Promise.all(parts.map((b, i) => d.putContent(`c/part${i}`, b)));
      const anonymous = await fetch(d.container.getBlobClient('c/part0').url);
      await anonymous.arrayBuffer();
      assert.equal(anonymous.status, 403, 'an unsigned read of a source is refused: the copy needs the driver\'s SAS');
      const callsBefore = proxy.calls.length;
      const readsBefore = proxy.blobReads.length;
      await d.concat(parts.map((_, i) => `c/part${i}`), 'c/joined');
      const calls = proxy.calls.slice(callsBefore);
      // 250 KiB + 7 → 3 ranges of ≤ 100 KiB; 1 byte → 1; empty → none; 100 KiB → 1; 3 bytes → 1.
      assert.equal(calls.length, 6);
      assert.ok(calls.every((c) => c.blob === 'c/joined'), 'calls.every((c) => c.blob === \'c/joined\')');
      assert.deepEqual(
        calls.map((c) => c.range).sort(),
        ['bytes=0-0', 'bytes=0-102399', 'bytes=0-102399', 'bytes=0-2', 'bytes=102400-204799', 'bytes=204800-256006'].sort(),
      );
      assert.equal(proxy.blobReads.length, readsBefore, 'no source byte went through the driver');
      assert.equal(d.copyMode, 'server');
      assert.deepEqual(await d.getContent('c/joined'), Buffer.concat(parts));
      for (let i = 0; i < parts.length; i++) await assert.rejects(d.stat(`c/part${i}`), isNotFound);
      // A move larger than copyBlockSize goes through blocks too.
      await d.move('c/joined', 'c/moved');
      assert.deepEqual(await d.getContent('c/moved'), Buffer.concat(parts));
      await assert.rejects(d.stat('c/joined'), isNotFound);
    } finally {
      await dropContainer(d);
    }
  });

  test('concat without Put Block From URL (plain azurite) streams and gives the same bytes', async () => {
    const d = await freshDriver({ blockSize: 64 * 1024, copyBlockSize: 100 * 1024 });
    try {
      const parts = [randomBytes(250 * 1024 + 7), randomBytes(1), Buffer.alloc(0), randomBytes(100 * 1024)];
      await Promise.all(parts.map((b, i) => d.putContent(`c/part${i}`, b)));
      await d.concat(parts.map((_, i) => `c/part${i}`), 'c/joined');
      assert.equal(d.copyMode, 'stream');
      assert.deepEqual(await d.getContent('c/joined'), Buffer.concat(parts));
      for (let i = 0; i < parts.length; i++) await assert.rejects(d.stat(`c/part${i}`), isNotFound);
      await d.move('c/joined', 'c/moved');
      assert.deepEqual(await d.getContent('c/moved'), Buffer.concat(parts));
      await assert.rejects(d.stat('c/joined'), isNotFound);
    } finally {
      await dropContainer(d);
    }
  });

  test('redirect URLs are read-only SAS URLs; a tampered signature gets 403', async () => {
    const d = await freshDriver({ redirect: { expiresSeconds: 120 } });
    try {
      const data = randomBytes(5000);
      await d.putContent('r/blob', data);
      const url = await d.redirectURL('r/blob');
      assert.ok(url, 'url');
      const u = new URL(url);
      assert.equal(u.searchParams.get('sp'), 'r');
      assert.ok(u.searchParams.get('se'), 'u.searchParams.get(\'se\')');
      const got = await fetch(url);
      assert.equal(got.status, 200);
      assert.deepEqual(Buffer.from(await got.arrayBuffer()), data);
      const ranged = await fetch(url, { headers: { range: 'bytes=10-19' } });
      assert.equal(ranged.status, 206);
      assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), data.subarray(10, 20));
      const sig = u.searchParams.get('sig')!;
      u.searchParams.set('sig', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
      const tampered = await fetch(u);
      await tampered.arrayBuffer();
      assert.equal(tampered.status, 403);
      const put = await fetch(url, { method: 'PUT', body: 'x', headers: { 'x-ms-blob-type': 'BlockBlob' } });
      await put.arrayBuffer();
      assert.equal(put.status, 403, 'the SAS cannot write');
      assert.equal(await (await freshDriver()).redirectURL('r/blob'), undefined, 'no redirects unless configured');
    } finally {
      await dropContainer(d);
    }
  });

  test('an expired redirect URL gets 403', async () => {
    const d = await freshDriver({ redirect: { expiresSeconds: 1 } });
    try {
      await d.putContent('r/blob', Buffer.from('x'));
      const url = (await d.redirectURL('r/blob'))!;
      await new Promise((r) => setTimeout(r, 2100));
      const got = await fetch(url);
      await got.arrayBuffer();
      assert.equal(got.status, 403);
    } finally {
      await dropContainer(d);
    }
  });

  test('concat onto one of its sources', async () => {
    for (const endpoint of [undefined, (await shim()).endpoint]) {
      const d = await freshDriver({ copyBlockSize: 1000 }, endpoint);
      try {
        const [a, b] = [randomBytes(2500), randomBytes(1500)];
        await d.putContent('c/a', a);
        await d.putContent('c/b', b);
        await d.concat(['c/a', 'c/b'], 'c/a');
        assert.deepEqual(await d.getContent('c/a'), Buffer.concat([a, b]));
        await assert.rejects(d.stat('c/b'), isNotFound);
      } finally {
        await dropContainer(d);
      }
    }
  });

  test('delete removes blobs that have snapshots', async () => {
    const d = await freshDriver();
    try {
      await d.putContent('s/a', Buffer.from('a'));
      await d.putContent('s/a/b', Buffer.from('b'));
      await d.container.getBlobClient('s/a').createSnapshot();
      await d.container.getBlobClient('s/a/b').createSnapshot();
      await d.delete('s/a');
      await assert.rejects(d.stat('s/a'), isNotFound);
    } finally {
      await dropContainer(d);
    }
  });

  test('append writers are refused', async () => {
    const d = await freshDriver();
    try {
      await assert.rejects(d.writer('a', true), (e: unknown) => e instanceof StorageError && e.kind === 'io' && /append is not supported on Azure Blob/.test(e.message));
    } finally {
      await dropContainer(d);
    }
  });

  test('writers racing to one path: identical content both succeed, different content fails clearly', async () => {
    const d = await freshDriver({ blockSize: 64 * 1024 });
    try {
      const stage = async (data: Buffer) => {
        const w = await d.writer('race', false);
        await pipeline(Readable.from([data]), w.stream);
        return w;
      };
      const same = randomBytes(200 * 1024);
      const [a, b] = [await stage(same), await stage(same)];
      await a.commit();
      await b.commit(); // b's blocks were dropped by a's commit, but the content is there already
      assert.deepEqual(await d.getContent('race'), same);

      const [c, e] = [await stage(randomBytes(200 * 1024)), await stage(randomBytes(200 * 1024))];
      await c.commit();
      await assert.rejects(e.commit(), (err: unknown) => err instanceof StorageError && err.kind === 'io' && /another writer/.test(err.message));
    } finally {
      await dropContainer(d);
    }
  });

  test('an aborted writer fails and leaves nothing', async () => {
    const d = await freshDriver({ blockSize: 64 * 1024 });
    try {
      const ac = new AbortController();
      const w = await d.writer('aborted', false, { signal: ac.signal });
      ac.abort();
      await assert.rejects(pipeline(Readable.from([randomBytes(512 * 1024)]), w.stream));
      await assert.rejects(w.commit(), (e: unknown) => e instanceof StorageError && e.kind === 'aborted');
      await w.cancel();
      await assert.rejects(d.stat('aborted'), isNotFound);
    } finally {
      await dropContainer(d);
    }
  });

  test('a missing container is an error that names it', async () => {
    const az = await emulator();
    const d = new CheckedDriver(createAzureDriver({ container: 'no-such-container', account: az.accountName, accountKey: az.accountKey, endpoint: az.endpoint }, {}));
    for (const op of [() => d.stat('x'), () => d.getContent('x'), () => d.putContent('x', Buffer.from('x')), () => d.list('x')]) {
      await assert.rejects(op(), (e: unknown) => e instanceof StorageError && e.kind === 'io' && /container "no-such-container" does not exist/.test(e.message));
    }
  });

  test('prefix: keys live under it, paths come back without it', async () => {
    const d = await freshDriver({ prefix: 'tenant/a' });
    try {
      await d.putContent('x/y', Buffer.from('1'));
      await d.putContent('x/y/z', Buffer.from('22'));
      assert.equal((await d.container.getBlobClient('tenant/a/x/y').getProperties()).contentLength, 1);
      assert.deepEqual(await d.list('x'), ['x/y'], 'a blob that is also a prefix is listed once');
      const walked: string[] = [];
      for await (const f of d.walk('x')) walked.push(f.path);
      assert.deepEqual(walked, ['x/y', 'x/y/z']);
      assert.equal((await d.stat('x')).isDir, true);
    } finally {
      await dropContainer(d);
    }
  });

  test('credentials from the environment', async () => {
    const az = await emulator();
    const container = `wharf-${process.pid}-env`;
    await service(az).getContainerClient(container).createIfNotExists();
    try {
      const byKey = createAzureDriver({ container, endpoint: az.endpoint }, { AZURE_STORAGE_ACCOUNT: az.accountName, AZURE_STORAGE_KEY: az.accountKey });
      await byKey.putContent('k', Buffer.from('key'));
      const byConnectionString = createAzureDriver({ container }, { AZURE_STORAGE_CONNECTION_STRING: az.connectionString });
      assert.equal((await byConnectionString.getContent('k')).toString(), 'key');
      assert.throws(() => createAzureDriver({ container, account: az.accountName, endpoint: az.endpoint }, {}), /no credentials/);
    } finally {
      await service(az).getContainerClient(container).deleteIfExists();
    }
  });
});

describe('azure storage URL', () => {
  test('fromURL', () => {
    assert.deepEqual(fromURL('azure://blobs'), { container: 'blobs' });
    assert.deepEqual(
      fromURL('azure://blobs/wharf/prod?account=acct&endpoint=http://127.0.0.1:10000/devstoreaccount1&blockSize=16MiB&redirect=true&redirectExpires=900'),
      {
        container: 'blobs',
        prefix: 'wharf/prod',
        account: 'acct',
        endpoint: 'http://127.0.0.1:10000/devstoreaccount1',
        blockSize: 16 * 1024 * 1024,
        redirect: { expiresSeconds: 900 },
      },
    );
    assert.deepEqual(fromURL('azure://blobs?redirect=true').redirect, { expiresSeconds: 1200 });
    assert.equal(fromURL('azure://blobs?redirectExpires=60').redirect, undefined);
    assert.equal(fromURL('azure://blobs?blockSize=1048576&copyBlockSize=4000MiB').copyBlockSize, 4000 * 1024 * 1024);
    assert.throws(() => fromURL('azure://blobs?accountKey=abc'), /secret/);
    assert.throws(() => fromURL('azure://blobs?sig=abc'), /secret/);
    assert.throws(() => fromURL('azure://user:pw@blobs'), /credentials do not belong/);
    assert.throws(() => fromURL('azure://blobs?colour=blue'), /unknown parameter "colour"/);
    assert.throws(() => fromURL('azure://blobs?blockSize=big'), /not a size/);
    assert.throws(() => createAzureDriver({ container: 'Bad_Name', account: 'a', accountKey: 'a2V5' }, {}), /invalid container name/);
    assert.throws(() => createAzureDriver({ container: 'blobs', account: 'a', accountKey: 'a2V5', blockSize: 5000 * 1024 * 1024 }, {}), /blockSize/);
    assert.throws(() => createAzureDriver({ container: 'blobs', account: 'a', sasToken: 'sv=x&sig=y', redirect: { expiresSeconds: 60 } }, {}), /shared key/);
  });

  test('storageOptions override the URL and carry the secrets', () => {
    const o = azureOptionsFrom(new URL('azure://blobs/p?account=a&blockSize=1MiB&redirect=true'), {
      accountKey: 'a2V5',
      blockSize: '16MiB',
      copyBlockSize: 1024,
      redirect: { expiresSeconds: 60 },
    });
    assert.deepEqual(o, { container: 'blobs', prefix: 'p', account: 'a', accountKey: 'a2V5', blockSize: 16 * 1024 * 1024, copyBlockSize: 1024, redirect: { expiresSeconds: 60 } });
    assert.equal(azureOptionsFrom('azure://blobs?redirect=true', { redirect: false }).redirect, undefined);
    assert.throws(() => azureOptionsFrom('azure://blobs', { accountKey: 42 }), /must be a string/);
    assert.throws(() => azureOptionsFrom('azure://blobs', { secretAccessKey: 'x' }), /unknown azure storage option "secretAccessKey"/);
  });

  test('examples/azure.yaml loads and names a valid azure storage', () => {
    const config = loadConfig({ config: `${projectRoot}/examples/azure.yaml` }, {});
    const o = azureOptionsFrom(config.storage, config.storageOptions);
    assert.equal(o.container, 'wharf-blobs');
    assert.ok(createAzureDriver(o, { AZURE_STORAGE_KEY: 'a2V5' }), 'createAzureDriver(o, { AZURE_STORAGE_KEY: \'a2V5\' })');
  });
});
