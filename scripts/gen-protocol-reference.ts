// Rewrites the protocol reference in docs/protocol.md from the method schemas.
// Usage: npx tsx scripts/gen-protocol-reference.ts   (test/unit/protocol.test.ts checks it)
import { readFileSync, writeFileSync } from 'node:fs';
import { renderReference } from '../src/protocol/reference.js';
import { REFERENCE_END, REFERENCE_FILE, REFERENCE_START, spliceReference } from '../test/unit/reference-markers.js';

const text = readFileSync(REFERENCE_FILE, 'utf8');
const updated = spliceReference(text, renderReference());
if (updated === null) throw new Error(`${REFERENCE_FILE} has no ${REFERENCE_START} … ${REFERENCE_END} block`);
writeFileSync(REFERENCE_FILE, updated);
console.log(updated === text ? `${REFERENCE_FILE}: protocol reference already up to date` : `${REFERENCE_FILE}: protocol reference updated`);
