// Image references: Docker's defaults (docker.io, library/), hosts with ports, IPv6, localhost, tags and digests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseReference,
  formatReference,
  manifestReference,
  registryApiHost,
  isLoopbackHost,
  splitHostPort,
  InvalidReferenceError,
  type ImageReference,
} from '../../src/client/index.js';

const d256 = 'sha256:' + 'a'.repeat(64);

test('Docker Hub defaults: docker.io and library/', () => {
  const cases: [string, ImageReference][] = [
    ['alpine', { registry: 'docker.io', repository: 'library/alpine' }],
    ['alpine:3.19', { registry: 'docker.io', repository: 'library/alpine', tag: '3.19' }],
    ['user/app', { registry: 'docker.io', repository: 'user/app' }],
    ['docker.io/alpine', { registry: 'docker.io', repository: 'library/alpine' }],
    ['index.docker.io/user/app:v1', { registry: 'docker.io', repository: 'user/app', tag: 'v1' }],
    [`alpine@${d256}`, { registry: 'docker.io', repository: 'library/alpine', digest: d256 }],
    [`alpine:3@${d256}`, { registry: 'docker.io', repository: 'library/alpine', tag: '3', digest: d256 }],
  ];
  for (const [input, want] of cases) assert.deepEqual(parseReference(input), want, input);
  assert.equal(registryApiHost('docker.io'), 'registry-1.docker.io');
  assert.equal(registryApiHost('ghcr.io'), 'ghcr.io');
});

test('hosts: a dot, a port, localhost, IPv4, IPv6 or upper case in the first component', () => {
  const cases: [string, ImageReference][] = [
    ['ghcr.io/org/app:1.0', { registry: 'ghcr.io', repository: 'org/app', tag: '1.0' }],
    ['localhost/app', { registry: 'localhost', repository: 'app' }],
    ['localhost:5000/a/b/c:latest', { registry: 'localhost:5000', repository: 'a/b/c', tag: 'latest' }],
    ['127.0.0.1:5000/app', { registry: '127.0.0.1:5000', repository: 'app' }],
    ['[::1]:5000/app:v2', { registry: '[::1]:5000', repository: 'app', tag: 'v2' }],
    ['registry:5000/app', { registry: 'registry:5000', repository: 'app' }],
    ['Registry.Example.COM/app', { registry: 'registry.example.com', repository: 'app' }],
    ['UPPER/app', { registry: 'upper', repository: 'app' }],
    [`quay.io/a/b@${d256}`, { registry: 'quay.io', repository: 'a/b', digest: d256 }],
  ];
  for (const [input, want] of cases) assert.deepEqual(parseReference(input), want, input);
  // Not a host: no dot, no port, not localhost → a Docker Hub namespace.
  assert.deepEqual(parseReference('myhost/app'), { registry: 'docker.io', repository: 'myhost/app' });
  // A name with a port but no slash is a Docker Hub repository with a tag, as docker reads it.
  assert.deepEqual(parseReference('localhost:5000'), { registry: 'docker.io', repository: 'library/localhost', tag: '5000' });
  assert.deepEqual(parseReference('app', { defaultRegistry: 'localhost:5000' }), { registry: 'localhost:5000', repository: 'app' });
});

test('invalid references say why', () => {
  for (const [input, why] of [
    ['', /empty/],
    ['ghcr.io/Org/app', /lower case/],
    ['app:-bad', /tag/],
    ['app@sha256:123', /digest/],
    ['app@md5:' + 'a'.repeat(32), /digest/],
    ['a b', /white space/],
    ['ghcr.io/', /no repository/],
    ['ghcr.io/a//b', /components/],
    ['bad_host.io:x/app', /registry host|components|tag/],
  ] as const) {
    assert.throws(() => parseReference(input), (e: unknown) => e instanceof InvalidReferenceError && why.test(e.message), input);
  }
});

test('formatReference and manifestReference', () => {
  assert.equal(formatReference(parseReference('alpine')), 'docker.io/library/alpine');
  assert.equal(formatReference(parseReference(`localhost:5000/a:v1@${d256}`)), `localhost:5000/a:v1@${d256}`);
  assert.equal(manifestReference(parseReference('alpine')), 'latest');
  assert.equal(manifestReference(parseReference('alpine:3')), '3');
  assert.equal(manifestReference(parseReference(`alpine:3@${d256}`)), d256);
});

test('loopback hosts', () => {
  for (const h of ['localhost', 'localhost:5000', 'a.localhost', '127.0.0.1', '127.1.2.3:80', '[::1]:5000', '::1']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['example.com', '10.0.0.1:5000', '128.0.0.1', 'localhost.example.com', '[::2]']) assert.equal(isLoopbackHost(h), false, h);
  assert.deepEqual(splitHostPort('[::1]:5000'), { hostname: '::1', port: 5000 });
  assert.deepEqual(splitHostPort('host'), { hostname: 'host', port: undefined });
});
