// Each test file is an entry, like src/node.ts: the outbox gets its parts (src/compose/outbox.ts) before any test runs.
import { wireOutbox } from '../../src/compose/outbox.js';

wireOutbox();
