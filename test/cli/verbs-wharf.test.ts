// The client verbs of the `wharf` CLI against Wharf (in-process, on a loopback port).
import { verbSuite } from './suite.js';
import { startWharf } from '../client/helpers.js';

verbSuite('wharf', startWharf);
