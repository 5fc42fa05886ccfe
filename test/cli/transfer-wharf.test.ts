// The content-moving verbs of the `wharf` CLI against Wharf (in-process, on a loopback port).
import { transferSuite } from './transfer.suite.js';
import { startWharf } from '../client/helpers.js';

transferSuite('wharf', startWharf);
