// `npm run openapi`: writes docs/openapi.json from the code (lambdas/api/openapi/document.ts). A test
// fails while the committed file differs from what this writes.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openApiJson } from '../lambdas/api/openapi/document.js';

const path = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));
writeFileSync(path, openApiJson());
console.log(`wrote ${path}`);
