// GET /v2/_oci/ext/discover: the shape of the OCI extensions proposal, the `_wharf` endpoints the server
// really routes (none answers the router's "no endpoint"), and authentication as for /v2/.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';
import { closeRegistry } from '../http/helpers.js';
import { startAuthRegistry, basic, type AuthRegistry } from '../auth/helpers.js';
import type { ExtensionList } from '../../src/observability/discovery.js';

function checkShape(doc: unknown): asserts doc is ExtensionList {
  assert.equal(typeof doc, 'object');
  const list = (doc as { extensions?: unknown }).extensions;
  assert.ok(Array.isArray(list), 'extensions is an array');
  for (const ext of list as Record<string, unknown>[]) {
    assert.equal(typeof ext.name, 'string');
    assert.match(ext.name as string, /^_[a-z0-9]+$/, 'the name is as it appears in the URL path');
    assert.equal(typeof ext.url, 'string');
    assert.ok((ext.url as string).length > 0, 'url is set');
    if (ext.description !== undefined) assert.equal(typeof ext.description, 'string');
    assert.ok(Array.isArray(ext.endpoints), 'endpoints is an array');
    for (const e of ext.endpoints as unknown[]) {
      assert.equal(typeof e, 'string');
      assert.ok((e as string).startsWith('/v2/') && (e as string).includes(`/${ext.name as string}/`), `endpoint ${String(e)} is under ${String(ext.name)}`);
    }
  }
}

/** An endpoint template made concrete, to ask the server whether it routes it. */
function concrete(template: string): string {
  return template.replace('<name>', 'library/probe').replace('<reference>', 'latest').replace('<key>', 'probe');
}

describe('extension discovery without authentication', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry();
  });
  after(async () => closeRegistry(reg));

  test('lists _oci and the _wharf endpoints of the endpoint table, each of which the server routes', async () => {
    const res = await fetch(new URL('/v2/_oci/ext/discover', reg.url));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const doc: unknown = await res.json();
    checkShape(doc);
    const oci = doc.extensions.find((e) => e.name === '_oci');
    assert.deepEqual(oci?.endpoints, ['/v2/_oci/ext/discover']);
    const wharf = doc.extensions.find((e) => e.name === '_wharf');
    assert.ok(wharf?.endpoints.includes('/v2/_wharf/events'), 'the change feed is listed');
    assert.ok(wharf?.endpoints.includes('/v2/<name>/_wharf/usage'), 'an endpoint of the table is listed');
    for (const template of wharf?.endpoints ?? []) {
      assert.ok(!template.includes('/_wharf/tokens'), 'API keys need authentication, which is off');
      // A routed endpoint answers anything but the router's "no endpoint" 404 (it may be 404 for the probe repository).
      for (const method of ['GET', 'POST']) {
        const r = await fetch(new URL(concrete(template), reg.url), { method });
        const text = await r.text();
        assert.ok(!text.includes('no endpoint'), `${method} ${template} is routed (${r.status} ${text.slice(0, 200)})`);
      }
    }
  });

  test('HEAD answers without a body; other methods are refused', async () => {
    const head = await fetch(new URL('/v2/_oci/ext/discover', reg.url), { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    const post = await fetch(new URL('/v2/_oci/ext/discover', reg.url), { method: 'POST' });
    assert.equal(post.status, 405);
    await post.arrayBuffer();
  });
});

describe('extension discovery with authentication', () => {
  let reg: AuthRegistry;
  before(async () => {
    reg = await startAuthRegistry({ realm: 'test', admins: ['root'], policies: [] }, { root: 'root-secret' });
  });
  after(async () => reg?.close());

  test('needs credentials like /v2/, and then lists the API keys endpoints', async () => {
    const anonymous = await fetch(new URL('/v2/_oci/ext/discover', reg.url));
    assert.equal(anonymous.status, 401);
    assert.ok(anonymous.headers.get('www-authenticate'), 'the 401 carries a challenge');
    await anonymous.arrayBuffer();
    const res = await fetch(new URL('/v2/_oci/ext/discover', reg.url), { headers: { authorization: basic('root', 'root-secret') } });
    assert.equal(res.status, 200);
    const doc: unknown = await res.json();
    checkShape(doc);
    const wharf = doc.extensions.find((e) => e.name === '_wharf');
    assert.ok(wharf?.endpoints.includes('/v2/_wharf/tokens'), 'the API keys endpoint is listed');
    const keys = await fetch(new URL('/v2/_wharf/tokens', reg.url), { headers: { authorization: basic('root', 'root-secret') } });
    assert.equal(keys.status, 200, 'and it answers');
    await keys.arrayBuffer();
  });
});
