// Rewrites the protocol reference in README.md from the method schemas.
// Usage: npx tsx scripts/gen-protocol-reference.ts   (test/unit/protocol.test.ts checks it)
import { readFileSync, writeFileSync } from 'node:fs';
import { renderReference } from '../src/protocol/reference.js';
import { REFERENCE_END, REFERENCE_START, spliceReference } from '../test/unit/reference-markers.js';

const readme = readFileSync('README.md', 'utf8');
const updated = spliceReference(readme, renderReference());
if (updated === null) throw new Error(`README.md has no ${REFERENCE_START} … ${REFERENCE_END} block`);
writeFileSync('README.md', updated);
console.log(updated === readme ? 'README.md protocol reference already up to date' : 'README.md protocol reference updated');
