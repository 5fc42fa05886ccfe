// The S3 driver's options, checked on the requests the SDK builds: no server. A custom requestHandler records
// every request and answers it like S3 would (enough for the SDK's deserializers), so options RGW does not
// implement (SSE-S3, SSE-KMS, storage classes) and AWS / R2 addressing can be checked here.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createS3Driver, fromURL, resolveS3Options, s3OptionsFrom, type S3Options } from '../../src/storage/drivers/s3.js';
import { CheckedDriver } from '../../src/storage/checked.js';
import { StorageError } from '../../src/storage/driver.js';
import { parseStorageURL } from '../../src/storage/index.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

interface Captured {
  method: string;
  protocol: string;
  hostname: string;
  port: number | undefined;
  path: string;
  query: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  bodyBytes: number;
}

/** What a request is, by the S3 REST API's rules. */
function op(r: Captured): string {
  const q = r.query;
  const copy = 'x-amz-copy-source' in r.headers;
  if (r.method === 'POST' && 'uploads' in q) return 'CreateMultipartUpload';
  if (r.method === 'POST' && 'uploadId' in q) return 'CompleteMultipartUpload';
  if (r.method === 'POST' && 'delete' in q) return 'DeleteObjects';
  if (r.method === 'PUT' && 'uploadId' in q) return copy ? 'UploadPartCopy' : 'UploadPart';
  if (r.method === 'PUT') return copy ? 'CopyObject' : 'PutObject';
  if (r.method === 'DELETE' && 'uploadId' in q) return 'AbortMultipartUpload';
  if (r.method === 'DELETE') return 'DeleteObject';
  if (r.method === 'HEAD') return 'HeadObject';
  if (r.method === 'GET' && q['list-type'] === '2') return 'ListObjectsV2';
  return 'GetObject';
}

const xml = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;

/** A fake S3 behind the SDK's requestHandler interface. HEAD answers with `sizes` (by key), default 1 KiB. */
class FakeS3 {
  readonly requests: Captured[] = [];
  readonly sizes = new Map<string, number>();
  readonly metadata = { handlerProtocol: 'http/1.1' };

  ops(): string[] {
    return this.requests.map(op);
  }
  find(name: string): Captured[] {
    return this.requests.filter((r) => op(r) === name);
  }

  async handle(request: any, options?: { abortSignal?: AbortSignal }): Promise<{ response: any }> {
    if (options?.abortSignal?.aborted) throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    let bodyBytes = 0;
    const body = request.body;
    if (body instanceof Readable) for await (const c of body) bodyBytes += (c as Buffer).length;
    else if (typeof body === 'string' || body instanceof Uint8Array) bodyBytes = Buffer.byteLength(body);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(request.headers as Record<string, string>)) headers[k.toLowerCase()] = v;
    const r: Captured = {
      method: request.method,
      protocol: request.protocol,
      hostname: request.hostname,
      port: request.port,
      path: request.path,
      query: request.query ?? {},
      headers,
      bodyBytes,
    };
    this.requests.push(r);
    const key = decodeURIComponent(r.path).split('/').slice(-2).join('/');
    let status = 200;
    let out = '';
    const resHeaders: Record<string, string> = { 'x-amz-request-id': 'fake' };
    switch (op(r)) {
      case 'CreateMultipartUpload':
        out = xml(`<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>upload-1</UploadId></InitiateMultipartUploadResult>`);
        break;
      case 'UploadPartCopy':
        out = xml(`<CopyPartResult><ETag>"part-${String(r.query.partNumber)}"</ETag><LastModified>2026-01-01T00:00:00.000Z</LastModified></CopyPartResult>`);
        break;
      case 'CopyObject':
        out = xml(`<CopyObjectResult><ETag>"copy"</ETag><LastModified>2026-01-01T00:00:00.000Z</LastModified></CopyObjectResult>`);
        break;
      case 'CompleteMultipartUpload':
        out = xml(`<CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><ETag>"done-2"</ETag></CompleteMultipartUploadResult>`);
        break;
      case 'UploadPart':
      case 'PutObject':
        resHeaders.etag = '"etag"';
        break;
      case 'DeleteObjects':
        out = xml('<DeleteResult></DeleteResult>');
        break;
      case 'DeleteObject':
      case 'AbortMultipartUpload':
        status = 204;
        break;
      case 'ListObjectsV2':
        out = xml('<ListBucketResult><Name>b</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>');
        break;
      case 'HeadObject': {
        const size = [...this.sizes].find(([k]) => key.endsWith(k))?.[1] ?? 1024;
        resHeaders['content-length'] = String(size);
        resHeaders.etag = `"head-${key}"`;
        resHeaders['last-modified'] = 'Thu, 01 Jan 2026 00:00:00 GMT';
        break;
      }
      default:
        out = 'bytes';
    }
    const bytes = Buffer.from(out);
    if (op(r) !== 'HeadObject') resHeaders['content-length'] = String(bytes.length);
    if (out.startsWith('<?xml')) resHeaders['content-type'] = 'application/xml';
    return { response: { statusCode: status, reason: 'OK', headers: resHeaders, body: Readable.from(bytes.length ? [bytes] : []) } };
  }

  updateHttpClientConfig(): void {}
  httpHandlerConfigs(): Record<string, never> {
    return {};
  }
  destroy(): void {}
}

const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

function driver(opts: Partial<S3Options>) {
  const fake = new FakeS3();
  const d = createS3Driver({ bucket: 'wharf-bucket', region: 'us-east-1', ...creds, ...opts }, { clientConfig: { requestHandler: fake as any, maxAttempts: 1 } });
  return { d, fake };
}

async function write(d: { writer: (p: string, a: boolean) => Promise<{ stream: NodeJS.WritableStream; commit(): Promise<void> }> }, path: string, bytes: number) {
  const w = await d.writer(path, false);
  await pipeline(Readable.from((function* () {
    for (let off = 0; off < bytes; off += MiB) yield Buffer.alloc(Math.min(MiB, bytes - off));
  })()), w.stream as any);
  await w.commit();
}

describe('s3 requests: server-side encryption and storage class', () => {
  test('AES256 + storage class on PutObject, CreateMultipartUpload (streamed and copy) and CopyObject', async () => {
    const { d, fake } = driver({ sse: 'AES256', storageClass: 'STANDARD_IA', partSize: 5 * MiB, copyThreshold: 8 * MiB, copyPartSize: 10 * MiB });
    await d.putContent('a/put', Buffer.from('x'));
    await write(d, 'a/small', 1000); // one PutObject
    await write(d, 'a/big', 11 * MiB); // multipart: 5 + 5 + 1 MiB
    await d.move('a/small', 'a/moved'); // 1 KiB: CopyObject
    fake.sizes.set('a/huge', 30 * MiB);
    await d.move('a/huge', 'a/huge-moved'); // above copyThreshold: multipart copy
    const puts = fake.find('PutObject');
    assert.equal(puts.length, 2);
    const creates = fake.find('CreateMultipartUpload');
    assert.equal(creates.length, 2);
    const copies = fake.find('CopyObject');
    assert.equal(copies.length, 1);
    for (const r of [...puts, ...creates, ...copies]) {
      assert.equal(r.headers['x-amz-server-side-encryption'], 'AES256', `${op(r)} ${r.path}`);
      assert.equal(r.headers['x-amz-storage-class'], 'STANDARD_IA', `${op(r)} ${r.path}`);
      assert.equal(r.headers['x-amz-server-side-encryption-aws-kms-key-id'], undefined);
    }
    // Parts inherit the upload's settings: S3 rejects SSE headers (other than SSE-C) on UploadPart / UploadPartCopy.
    for (const r of [...fake.find('UploadPart'), ...fake.find('UploadPartCopy')]) {
      assert.equal(r.headers['x-amz-server-side-encryption'], undefined);
      assert.equal(r.headers['x-amz-storage-class'], undefined);
    }
    assert.equal(fake.find('UploadPart').length, 3);
    assert.deepEqual(fake.find('UploadPart').map((r) => r.bodyBytes).sort((a, b) => a - b), [MiB, 5 * MiB, 5 * MiB]);
  });

  test('aws:kms with a key id', async () => {
    const { d, fake } = driver({ sse: 'aws:kms', kmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/abcd', partSize: 5 * MiB });
    await d.putContent('k', Buffer.from('x'));
    await write(d, 'k2', 6 * MiB);
    await d.move('k', 'k3');
    for (const r of [...fake.find('PutObject'), ...fake.find('CreateMultipartUpload'), ...fake.find('CopyObject')]) {
      assert.equal(r.headers['x-amz-server-side-encryption'], 'aws:kms');
      assert.equal(r.headers['x-amz-server-side-encryption-aws-kms-key-id'], 'arn:aws:kms:eu-west-1:111122223333:key/abcd');
      assert.equal(r.headers['x-amz-storage-class'], undefined, 'no storage class unless configured');
    }
    assert.equal(fake.find('PutObject').length + fake.find('CreateMultipartUpload').length + fake.find('CopyObject').length, 3);
  });

  test('nothing is sent when the options are not set', async () => {
    const { d, fake } = driver({});
    await d.putContent('k', Buffer.from('x'));
    await d.move('k', 'k2');
    for (const r of fake.requests) {
      assert.equal(r.headers['x-amz-server-side-encryption'], undefined);
      assert.equal(r.headers['x-amz-storage-class'], undefined);
    }
  });
});

describe('s3 requests: addressing, region and credentials', () => {
  test('custom endpoint with path-style: http(s)://host:port/bucket/prefix/key', async () => {
    const { d, fake } = driver({ endpoint: 'https://s3.example.test:9000', forcePathStyle: true, prefix: 'wharf/' });
    await d.putContent('blobs/x', Buffer.from('x'));
    const [r] = fake.requests;
    assert.equal(r!.protocol, 'https:');
    assert.equal(r!.hostname, 's3.example.test');
    assert.equal(r!.port, 9000);
    assert.equal(r!.path, '/wharf-bucket/wharf/blobs/x');
    assert.match(r!.headers.authorization!, /Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/s3\/aws4_request/, 'us-east-1 by default with an endpoint');
  });

  test('custom endpoint, virtual-hosted (R2 / AWS style): bucket in the host name', async () => {
    const { d, fake } = driver({ endpoint: 'https://acct.r2.cloudflarestorage.com', region: 'auto' });
    await d.putContent('x', Buffer.from('x'));
    const [r] = fake.requests;
    assert.equal(r!.hostname, 'wharf-bucket.acct.r2.cloudflarestorage.com');
    assert.equal(r!.path, '/x');
    assert.match(r!.headers.authorization!, /\/auto\/s3\/aws4_request/);
  });

  test('AWS: no endpoint, region from the options', async () => {
    const { d, fake } = driver({ region: 'eu-west-1' });
    await d.getContent('x');
    const [r] = fake.requests;
    assert.equal(r!.hostname, 'wharf-bucket.s3.eu-west-1.amazonaws.com');
    assert.equal(r!.protocol, 'https:');
    assert.match(r!.headers.authorization!, /\/eu-west-1\/s3\/aws4_request/);
  });

  test('credentials and region from the SDK default chain (environment) when none are configured', async () => {
    const saved = { ...process.env };
    process.env.AWS_REGION = 'ap-south-1';
    process.env.AWS_ACCESS_KEY_ID = 'AKIDFROMENV';
    process.env.AWS_SECRET_ACCESS_KEY = 'envsecret';
    process.env.AWS_SESSION_TOKEN = 'envtoken';
    try {
      const fake = new FakeS3();
      const d = createS3Driver({ bucket: 'wharf-bucket' }, { clientConfig: { requestHandler: fake as any } });
      await d.putContent('x', Buffer.from('x'));
      const [r] = fake.requests;
      assert.match(r!.headers.authorization!, /Credential=AKIDFROMENV\/\d{8}\/ap-south-1\//);
      assert.equal(r!.hostname, 'wharf-bucket.s3.ap-south-1.amazonaws.com');
      assert.equal(r!.headers['x-amz-security-token'], 'envtoken');
    } finally {
      for (const k of ['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });

  test('session token from the options', async () => {
    const { d, fake } = driver({ region: 'us-east-1', sessionToken: 'tok' });
    await d.putContent('x', Buffer.from('x'));
    assert.equal(fake.requests[0]!.headers['x-amz-security-token'], 'tok');
  });

  test('DeleteObjects carries Content-MD5 (servers that do not know the CRC32 checksum)', async () => {
    const { d, fake } = driver({ region: 'us-east-1' });
    await d.concat(['s1', 's2'], 'dest').catch(() => undefined); // HEAD says 1 KiB: rejected before any copy
    fake.sizes.set('big1', 6 * MiB);
    await d.concat(['big1', 's2'], 'dest');
    const [del] = fake.find('DeleteObjects');
    assert.ok(del, 'sources are removed with DeleteObjects');
    assert.match(del!.headers['content-md5'] ?? '', /^[A-Za-z0-9+/]{22}==$/);
  });
});

describe('s3 requests: server-side concat and move', () => {
  test('concat: UploadPartCopy pieces of at most copyPartSize, never under 5 MiB but the last; no bytes through the process', async () => {
    const { d, fake } = driver({ region: 'us-east-1', copyPartSize: 16 * MiB });
    fake.sizes.set('s/p0', 6 * MiB);
    fake.sizes.set('s/p1', 6 * MiB);
    fake.sizes.set('s/p2', 40 * MiB);
    fake.sizes.set('s/p3', 123);
    await d.concat(['s/p0', 's/p1', 's/p2', 's/p3'], 'out/blob');
    const copies = fake.find('UploadPartCopy').sort((a, b) => Number(a.query.partNumber) - Number(b.query.partNumber));
    const pieces = copies.map((r) => [r.headers['x-amz-copy-source']!, r.headers['x-amz-copy-source-range']!]);
    // 40 MiB in pieces of <= 16 MiB: three even pieces (13.33 MiB), not 16 + 16 + 8.
    const third = Math.floor((40 * MiB) / 3);
    assert.deepEqual(pieces, [
      ['wharf-bucket/s/p0', `bytes=0-${6 * MiB - 1}`],
      ['wharf-bucket/s/p1', `bytes=0-${6 * MiB - 1}`],
      ['wharf-bucket/s/p2', `bytes=0-${third}`],
      ['wharf-bucket/s/p2', `bytes=${third + 1}-${2 * third}`],
      ['wharf-bucket/s/p2', `bytes=${2 * third + 1}-${40 * MiB - 1}`],
      ['wharf-bucket/s/p3', 'bytes=0-122'],
    ]);
    for (const r of copies) assert.equal(r.headers['x-amz-copy-source-if-match'], `"head-${r.headers['x-amz-copy-source']!.slice('wharf-bucket/'.length)}"`);
    assert.equal(fake.find('CompleteMultipartUpload').length, 1);
    assert.equal(fake.find('GetObject').length + fake.find('UploadPart').length + fake.find('PutObject').length, 0, 'no bytes pass through');
    assert.equal(fake.find('DeleteObjects').length, 1);
  });

  test('concat refuses a small source that is not the last, before creating anything', async () => {
    const { d, fake } = driver({ region: 'us-east-1' });
    fake.sizes.set('p0', 6 * MiB);
    fake.sizes.set('p1', 4 * MiB);
    await assert.rejects(d.concat(['p0', 'p1', 'p2'], 'dest'), (e: unknown) => e instanceof StorageError && e.kind === 'io' && /at least 5242880 bytes/.test(e.message));
    assert.deepEqual(fake.ops().filter((o) => o !== 'HeadObject'), []);
  });

  test('move: CopyObject up to copyThreshold, multipart copy above it, then DeleteObject', async () => {
    const { d, fake } = driver({ region: 'us-east-1', copyThreshold: 8 * MiB, copyPartSize: 16 * MiB });
    fake.sizes.set('m/small', 8 * MiB);
    fake.sizes.set('m/large', 8 * MiB + 1);
    await d.move('m/small', 'm/small2');
    assert.deepEqual(fake.ops(), ['HeadObject', 'CopyObject', 'DeleteObject']);
    fake.requests.length = 0;
    await d.move('m/large', 'm/large2');
    assert.deepEqual(fake.ops(), ['HeadObject', 'CreateMultipartUpload', 'UploadPartCopy', 'CompleteMultipartUpload', 'DeleteObject']);
    assert.equal(fake.find('UploadPartCopy')[0]!.headers['x-amz-copy-source-range'], `bytes=0-${8 * MiB}`);
  });
});

describe('s3 requests: aborts, appends, redirects', () => {
  test('an aborted signal reaches the SDK call', async () => {
    const { d } = driver({ region: 'us-east-1' });
    const checked = new CheckedDriver(d);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(checked.getContent('x', { signal: ac.signal }), (e: unknown) => e instanceof StorageError && e.kind === 'aborted');
    await assert.rejects(checked.stat('x', { signal: ac.signal }), (e: unknown) => e instanceof StorageError && e.kind === 'aborted');
  });

  test('append is refused', async () => {
    const { d } = driver({ region: 'us-east-1' });
    await assert.rejects(d.writer('x', true), (e: unknown) => e instanceof StorageError && e.kind === 'io' && /append is not supported on S3/.test(e.message));
    assert.deepEqual(d.capabilities, { append: false, minConcatPart: 5 * MiB });
  });

  test('redirectURL: a presigned GET with the configured expiry; undefined when disabled', async () => {
    const { d } = driver({ endpoint: 'http://127.0.0.1:7480', forcePathStyle: true, redirect: { expiresSeconds: 321 }, prefix: 'p' });
    const u = new URL((await d.redirectURL('blobs/x'))!);
    assert.equal(u.origin, 'http://127.0.0.1:7480');
    assert.equal(u.pathname, '/wharf-bucket/p/blobs/x');
    assert.equal(u.searchParams.get('X-Amz-Expires'), '321');
    assert.match(u.searchParams.get('X-Amz-Credential')!, /^AKIDEXAMPLE\//);
    assert.ok(u.searchParams.get('X-Amz-Signature'), 'u.searchParams.get(\'X-Amz-Signature\')');
    const { d: off } = driver({ region: 'us-east-1' });
    assert.equal(await off.redirectURL('blobs/x'), undefined);
  });
});

describe('s3 options and URL', () => {
  test('fromURL parses every parameter', () => {
    const o = fromURL(
      parseStorageURL(
        's3://my-bucket/some/prefix/?endpoint=http://127.0.0.1:7480&region=us-east-1&forcePathStyle=true&partSize=8MiB' +
          '&copyThreshold=100MiB&copyPartSize=64MiB&sse=aws:kms&kmsKeyId=alias/wharf&storageClass=STANDARD_IA&redirect=true&redirectExpires=600',
      ),
    );
    assert.deepEqual(o, {
      bucket: 'my-bucket',
      prefix: 'some/prefix',
      endpoint: 'http://127.0.0.1:7480',
      region: 'us-east-1',
      forcePathStyle: true,
      partSize: 8 * MiB,
      copyThreshold: 100 * MiB,
      copyPartSize: 64 * MiB,
      sse: 'aws:kms',
      kmsKeyId: 'alias/wharf',
      storageClass: 'STANDARD_IA',
      redirect: { expiresSeconds: 600 },
    });
    assert.deepEqual(fromURL(new URL('s3://b-1')), { bucket: 'b-1' });
    assert.deepEqual(fromURL(new URL('s3://b-1?redirect=1')), { bucket: 'b-1', redirect: { expiresSeconds: 900 } });
    assert.deepEqual(fromURL(new URL('s3://b-1?partSize=16777216&forcePathStyle=false')), { bucket: 'b-1', partSize: 16 * MiB, forcePathStyle: false });
  });

  test('fromURL and the options refuse bad values with the option named', () => {
    const bad: Array<[string, RegExp]> = [
      ['s3://b-1?partSize=4MiB', /partSize/],
      ['s3://b-1?copyThreshold=6GiB', /copyThreshold/],
      ['s3://b-1?copyPartSize=6GiB', /copyPartSize/],
      ['s3://b-1?sse=rot13', /sse/],
      ['s3://b-1?kmsKeyId=k', /kmsKeyId needs sse/],
      ['s3://b-1?bogus=1', /unknown parameter "bogus"/],
      ['s3://AKID:secret@b-1', /credentials do not belong/],
      ['s3://b-1?endpoint=ftp://x', /endpoint/],
      ['s3://b-1?redirect=true&redirectExpires=9999999', /expiresSeconds/],
      ['s3://B_ad', /bucket/],
    ];
    for (const [url, re] of bad) assert.throws(() => fromURL(new URL(url)), re, url);
    assert.throws(() => resolveS3Options({ bucket: 'b-1', accessKeyId: 'x' }), /go together/);
    assert.equal(resolveS3Options({ bucket: 'b-1' }).partSize, 16 * MiB);
    assert.equal(resolveS3Options({ bucket: 'b-1' }).copyPartSize, GiB);
    assert.equal(resolveS3Options({ bucket: 'b-1' }).copyThreshold, 5 * GiB);
  });

  test('configuration options override the URL (credentials never need to be in it)', () => {
    const url = new URL('s3://b-1/p?region=eu-west-1&partSize=8MiB&redirect=true');
    assert.deepEqual(
      s3OptionsFrom(url, { accessKeyId: 'AK', secretAccessKey: 'SK', region: 'us-east-2', copyPartSize: '64MiB', partSize: 6 * MiB, redirect: { expiresSeconds: 60 } }),
      { bucket: 'b-1', prefix: 'p', region: 'us-east-2', partSize: 6 * MiB, copyPartSize: 64 * MiB, accessKeyId: 'AK', secretAccessKey: 'SK', redirect: { expiresSeconds: 60 } },
    );
    assert.equal(s3OptionsFrom(url, { redirect: false }).redirect, undefined);
    assert.throws(() => s3OptionsFrom(url, { accesKeyId: 'typo' }), /unknown storage option "accesKeyId"/);
    assert.throws(() => s3OptionsFrom(url, { forcePathStyle: 'yes' }), /forcePathStyle must be true or false/);
    assert.throws(() => s3OptionsFrom(url, { partSize: 1024 }), /partSize/);
    assert.throws(() => s3OptionsFrom(url, { accessKeyId: 'AK' }), /go together/);
  });
});
