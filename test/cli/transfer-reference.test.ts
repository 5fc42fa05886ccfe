// The content-moving verbs of the `wharf` CLI against the reference registry (Debian's docker-registry, CNCF
// Distribution 2.8: no referrers API, so referrers go through the tag fallback).
import { transferSuite } from './transfer.suite.js';
import { startReference } from '../client/helpers.js';

transferSuite('reference', () => startReference());
