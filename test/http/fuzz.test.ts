// Property-based tests (fast-check, seeded) at the real server over loopback HTTP: random and malformed paths,
// headers, digests, query strings and manifests. For every input: never a 5xx, and afterwards the server still
// answers GET /v2/, nothing but clean paths reached the storage driver, and no file appeared outside the data
// directory. Bounded: a few hundred runs per property, each property stopped after a time limit.
// Reproduce a failure with WHARF_FUZZ_SEED=<seed printed in the test name>.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  startHardenedRegistry,
  assertStoragePathsClean,
  rawRequest,
  requestHead,
  targetSafe,
  type HardenedRegistry,
  type RawResult,
} from './hardening-server.js';
import { call, pushImage, sha256, sha512, MT, type PushedImage } from './helpers.js';

const seed = Number(process.env.WHARF_FUZZ_SEED ?? 20261127);
const runs = Number(process.env.WHARF_FUZZ_RUNS ?? 250);
/** Each property stops (without failing) when this much time has passed. */
const propertyTimeMs = 45_000;
const repo = 'fuzz/repo';

const fcOptions = { seed, numRuns: runs, interruptAfterTimeLimit: propertyTimeMs, markInterruptAsFailure: false, endOnFailure: true } as const;

let reg: HardenedRegistry;
let image: PushedImage;

/** Statuses seen by the current property (status or 'closed'), to show the inputs reached the handlers. */
let seen = new Map<string, number>();

function assertNo5xx(res: RawResult, what: string): void {
  const key = res.status === undefined ? 'closed' : String(res.status);
  seen.set(key, (seen.get(key) ?? 0) + 1);
  // No answer is acceptable only for CONNECT (node closes a tunnel request no one handles).
  if (res.status === undefined) {
    assert.ok(res.closed, `${what}: the server neither answered nor closed the connection`);
    assert.ok(what.startsWith('CONNECT '), `${what}: the connection was closed without an answer`);
    return;
  }
  assert.ok(res.status < 500, `${what}: got ${res.status}\n${res.head}\n${res.body.slice(0, 500)}`);
}

/** Asserts the property got more than one kind of answer (success and refusals), and reports them. */
function reportStatuses(t: { diagnostic(message: string): void }, what: string, expected: string[]): void {
  const summary = [...seen.entries()].sort().map(([k, n]) => `${k}×${n}`).join(' ');
  t.diagnostic(`${what}: ${summary}`);
  for (const status of expected) assert.ok(seen.has(status), `${what}: some inputs got ${status} (saw ${summary})`);
  seen = new Map();
}

async function assertStillHealthy(what: string): Promise<void> {
  const res = await call(reg.url, 'GET', '/v2/');
  assert.equal(res.status, 200, `${what}: GET /v2/ still answers`);
  await res.arrayBuffer();
  assertStoragePathsClean(reg, what);
  assert.deepEqual(reg.outsideData(), ['wharf.yaml'], `${what}: nothing written next to the data directory`);
}

async function newSession(): Promise<string> {
  const res = await call(reg.url, 'POST', `/v2/${repo}/blobs/uploads/`);
  await res.arrayBuffer();
  assert.equal(res.status, 202, 'an upload session starts');
  return new URL(res.headers.get('location')!, reg.url).pathname;
}

// ---------------------------------------------------------------------------------------------- arbitraries

const tricky = fc.constantFrom(
  '..', '.', '%2e%2e', '%2E%2E', '%2e', '.%2e', '%2F', '%2f', '%00', '\\', '%5C', '%5c', '%252e%252e', '%c0%ae%c0%ae',
  '%', '%zz', '%u002e', '', ';', '~', '*', '"', "'", '<x>', '$(id)', '{}', '[]', ':', '@', '+', '=', '&',
  'fuzz', 'repo', 'fuzz/repo', '_catalog', 'manifests', 'blobs', 'uploads', 'tags', 'list', 'referrers', 'v2', 'latest', 'v1',
);
const segment = fc.oneof(
  { weight: 4, arbitrary: tricky },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-zA-Z0-9._-]{1,24}$/) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 6000 }).map((n) => 'x'.repeat(n)) },
);
const suffix = fc.constantFrom('', '/', '/manifests/v1', '/manifests/latest', '/blobs/uploads/', '/tags/list', '/referrers/', '/blobs/', '/manifests/');
const method = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND', 'CONNECT');

const validDigest = fc.uint8Array({ maxLength: 64 }).map((b) => sha256(b));
const digest = fc.oneof(
  validDigest,
  fc.uint8Array({ maxLength: 64 }).map((b) => sha512(b)),
  fc.stringMatching(/^[a-f0-9]{0,130}$/).map((h) => `sha256:${h}`),
  fc.stringMatching(/^[A-F0-9]{64}$/).map((h) => `sha256:${h}`),
  fc.stringMatching(/^[a-z0-9+._-]{1,12}:[a-zA-Z0-9=_-]{1,80}$/),
  fc.constantFrom('sha256:', ':', 'sha256:../../wharf.db', 'sha256:..%2F..%2Fwharf.db', 'md5:d41d8cd98f00b204e9800998ecf8427e', 'SHA256:abc'),
  fc.string({ unit: 'binary', maxLength: 100 }),
);
const queryValue = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => encodeURIComponent(s)),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }),
  fc.constantFrom('', '%', '%zz', '%00', '-1', '1e9', '99999999999999999999', '0', 'NaN', '..%2F..'),
  fc.nat().map(String),
  digest,
);
const query = fc.array(fc.tuple(fc.constantFrom('n', 'last', 'digest', 'mount', 'from', 'tag', 'artifactType', 'x', ''), queryValue), { maxLength: 5 });

function queryString(pairs: [string, string][]): string {
  return pairs.length === 0 ? '' : '?' + pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

const headerText = fc.oneof(fc.string({ unit: 'binary-ascii', maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 40 }));
const contentRange = fc.oneof(
  fc.tuple(fc.nat(5000), fc.nat(5000)).map(([a, b]) => `${a}-${b}`),
  fc.tuple(fc.nat(5000), fc.nat(5000)).map(([a, b]) => `bytes ${a}-${b}/*`),
  fc.constantFrom('0-', '-5', '5-1', '0--1', '99999999999999999999-1', 'bytes=0-0', '0-0/0', ' ', '0-9007199254740993'),
  headerText,
);
const rangeHeader = fc.oneof(
  fc.tuple(fc.nat(2000), fc.nat(2000)).map(([a, b]) => `bytes=${a}-${b}`),
  fc.nat(2000).map((n) => `bytes=-${n}`),
  fc.constantFrom('bytes=', 'bytes=-', 'bytes=0-0,1-1', 'bytes=99999999999999999-', 'items=0-1', 'bytes=5-1'),
  headerText,
);
const mediaTypeText = fc.oneof(fc.constantFrom(...Object.values(MT), 'application/json', '*/*', 'text/plain; charset=x', ''), headerText);

// ---------------------------------------------------------------------------------------------- properties

describe(`fuzz (seed ${seed}, ${runs} runs per property)`, () => {
  before(async () => {
    reg = await startHardenedRegistry('http:\n  bodyIdleTimeoutSeconds: 1\n  headersTimeoutSeconds: 5\n');
    image = await pushImage(reg.url, repo, { tag: 'v1' });
  });
  after(async () => {
    await reg?.close();
  });

  test('random and malformed paths, methods and query strings: never a 5xx', { timeout: propertyTimeMs + 30_000 }, async (t) => {
    await fc.assert(
      fc.asyncProperty(method, fc.array(segment, { maxLength: 8 }), suffix, query, async (m, segments, end, q) => {
        const target = targetSafe(`/v2/${segments.join('/')}${end}`) + targetSafe(queryString(q));
        const res = await rawRequest(reg.url, requestHead(m, target, { 'Content-Length': 0 }));
        assertNo5xx(res, `${m} ${target.slice(0, 300)}`);
      }),
      fcOptions,
    );
    reportStatuses(t, 'paths', ['400', '404', '405']);
    await assertStillHealthy('after the paths');
  });

  test('digests in blob, manifest, referrer, upload, mount and completion requests: never a 5xx', { timeout: propertyTimeMs + 30_000 }, async (t) => {
    const kinds = fc.constantFrom('blob', 'manifest', 'referrers', 'monolithic', 'mount', 'complete');
    await fc.assert(
      fc.asyncProperty(kinds, method, digest, query, fc.uint8Array({ maxLength: 256 }), async (kind, m, d, q, body) => {
        const enc = targetSafe(d);
        const qs = targetSafe(queryString(q));
        let target: string;
        let verb = m;
        switch (kind) {
          case 'blob':
            target = `/v2/${repo}/blobs/${enc}${qs}`;
            break;
          case 'manifest':
            target = `/v2/${repo}/manifests/${enc}${qs}`;
            break;
          case 'referrers':
            target = `/v2/${repo}/referrers/${enc}${qs}`;
            verb = 'GET';
            break;
          case 'monolithic':
            target = `/v2/${repo}/blobs/uploads/?digest=${encodeURIComponent(d)}`;
            verb = 'POST';
            break;
          case 'mount':
            target = `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(d)}&from=${encodeURIComponent(q[0]?.[1] ?? repo)}`;
            verb = 'POST';
            break;
          default:
            target = `${await newSession()}?digest=${encodeURIComponent(d)}`;
            verb = 'PUT';
        }
        const withBody = verb === 'POST' || verb === 'PUT' || verb === 'PATCH';
        const res = await rawRequest(
          reg.url,
          requestHead(verb, target, { 'Content-Length': withBody ? body.length : 0, 'Content-Type': 'application/octet-stream' }),
          withBody ? Buffer.from(body) : undefined,
        );
        assertNo5xx(res, `${verb} ${target.slice(0, 300)}`);
      }),
      fcOptions,
    );
    reportStatuses(t, 'digests', ['200', '400']);
    await assertStillHealthy('after the digests');
  });

  test('Content-Range, Content-Length, Range, Accept and Content-Type values: never a 5xx', { timeout: propertyTimeMs + 30_000 }, async (t) => {
    const kinds = fc.constantFrom('patch', 'put-upload', 'get-blob', 'get-manifest', 'put-manifest', 'post-upload');
    const lengthMode = fc.constantFrom('exact', 'exact', 'exact', 'smaller', 'garbage', 'absent');
    await fc.assert(
      fc.asyncProperty(
        kinds,
        fc.uint8Array({ maxLength: 2048 }),
        fc.record({ cr: fc.option(contentRange), range: fc.option(rangeHeader), accept: fc.option(mediaTypeText), type: fc.option(mediaTypeText) }),
        lengthMode,
        headerText,
        async (kind, body, h, lengthOf, garbage) => {
          let m = 'GET';
          let target = '';
          switch (kind) {
            case 'patch':
              m = 'PATCH';
              target = await newSession();
              break;
            case 'put-upload':
              m = 'PUT';
              target = `${await newSession()}?digest=${sha256(body)}`;
              break;
            case 'get-blob':
              target = `/v2/${repo}/blobs/${image.layers[0]!.digest}`;
              break;
            case 'get-manifest':
              target = `/v2/${repo}/manifests/v1`;
              break;
            case 'put-manifest':
              m = 'PUT';
              target = `/v2/${repo}/manifests/fuzzed`;
              break;
            default:
              m = 'POST';
              target = `/v2/${repo}/blobs/uploads/?digest=${sha256(body)}`;
          }
          const headers: Record<string, string | number> = {};
          if (h.cr !== null) headers['Content-Range'] = h.cr;
          if (h.range !== null) headers.Range = h.range;
          if (h.accept !== null) headers.Accept = h.accept;
          if (h.type !== null) headers['Content-Type'] = h.type;
          const sendsBody = m !== 'GET';
          if (lengthOf === 'exact' || !sendsBody) headers['Content-Length'] = sendsBody ? body.length : 0;
          else if (lengthOf === 'smaller') headers['Content-Length'] = Math.floor(body.length / 2);
          else if (lengthOf === 'garbage') headers['Content-Length'] = garbage;
          // 'absent' on a request with a body: the server reads no body; the bytes are then a malformed next request.
          const res = await rawRequest(reg.url, requestHead(m, target, headers), sendsBody ? Buffer.from(body) : undefined);
          assertNo5xx(res, `${m} ${target} ${JSON.stringify(headers).slice(0, 400)}`);
        },
      ),
      fcOptions,
    );
    reportStatuses(t, 'headers', ['200', '400', '416']);
    await assertStillHealthy('after the headers');
  });

  test('manifests: random JSON, wrong types, huge arrays, deep nesting, garbage bytes: never a 5xx', { timeout: propertyTimeMs + 30_000 }, async (t) => {
    const descriptor = fc.record(
      {
        mediaType: fc.oneof(mediaTypeText, fc.jsonValue()),
        digest: fc.oneof(digest, fc.constant(image.config.digest), fc.jsonValue()),
        size: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(-1), fc.constant(Number.MAX_SAFE_INTEGER), fc.jsonValue()),
        urls: fc.oneof(fc.array(fc.string()), fc.jsonValue()),
        annotations: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.jsonValue()),
        platform: fc.jsonValue(),
        artifactType: fc.oneof(fc.string(), fc.jsonValue()),
      },
      { requiredKeys: [] },
    );
    const shaped = fc
      .record(
        {
          schemaVersion: fc.oneof(fc.constant(2), fc.constant(1), fc.jsonValue()),
          mediaType: fc.oneof(mediaTypeText, fc.jsonValue()),
          artifactType: fc.oneof(fc.string(), fc.jsonValue()),
          config: fc.oneof(descriptor, fc.jsonValue()),
          layers: fc.oneof(fc.array(descriptor, { maxLength: 5 }), fc.jsonValue()),
          manifests: fc.oneof(fc.array(descriptor, { maxLength: 5 }), fc.jsonValue()),
          blobs: fc.oneof(fc.array(descriptor, { maxLength: 3 }), fc.jsonValue()),
          subject: fc.oneof(descriptor, fc.jsonValue()),
          annotations: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.jsonValue()),
          fsLayers: fc.jsonValue(),
          signatures: fc.jsonValue(),
        },
        { requiredKeys: [] },
      )
      .map((o) => Buffer.from(JSON.stringify(o)));
    const huge = fc.tuple(fc.integer({ min: 1000, max: 40_000 }), fc.constantFrom('layers', 'manifests', 'annotations')).map(([n, key]) => {
      const entry = { mediaType: MT.ociLayer, digest: image.layers[0]!.digest, size: image.layers[0]!.size };
      const value = key === 'annotations' ? Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v'])) : Array.from({ length: n }, () => entry);
      return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: key === 'manifests' ? MT.ociIndex : MT.ociManifest, config: image.config, layers: [], [key]: value }));
    });
    const deep = fc.tuple(fc.integer({ min: 50, max: 300_000 }), fc.constantFrom('[', '{"a":', '{"layers":')).map(([depth, open]) => {
      const close = open === '[' ? ']' : '}';
      return Buffer.from(open.repeat(depth) + (open === '[' ? '' : '1') + close.repeat(depth));
    });
    const body = fc.oneof(
      { weight: 4, arbitrary: shaped },
      { weight: 2, arbitrary: fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
      { weight: 1, arbitrary: huge },
      { weight: 1, arbitrary: deep },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)) },
    );
    const reference = fc.oneof(fc.constantFrom('v1', 'fuzzed', 'latest'), fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,20}$/), digest);
    await fc.assert(
      fc.asyncProperty(body, fc.option(mediaTypeText), reference, fc.boolean(), async (bytes, type, ref, byOwnDigest) => {
        const target = `/v2/${repo}/manifests/${targetSafe(byOwnDigest ? sha256(bytes) : ref)}`;
        const headers: Record<string, string | number> = { 'Content-Length': bytes.length };
        if (type !== null) headers['Content-Type'] = type;
        const res = await rawRequest(reg.url, requestHead('PUT', target, headers), bytes);
        assertNo5xx(res, `PUT ${target} (${bytes.length} bytes: ${bytes.subarray(0, 200).toString()})`);
      }),
      fcOptions,
    );
    reportStatuses(t, 'manifests', ['400', '413']);
    await assertStillHealthy('after the manifests');
    // The pushed image is intact.
    const res = await call(reg.url, 'GET', `/v2/${repo}/manifests/${image.digest}`, { headers: { Accept: MT.ociManifest } });
    assert.equal(res.status, 200, 'the original manifest is still served');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), image.body);
  });
});
