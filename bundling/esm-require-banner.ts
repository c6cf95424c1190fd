// esbuild output in ESM has no `require`, yet CommonJS dependencies bundled into it (parts of the AWS
// SDK, Powertools) still call it for Node built-ins. This banner gives them one. Shared by the Lambda
// bundles (lib/bundled-function.ts) and the cell agent bundle (bundling/agent-bundle.ts). The import
// is renamed so it cannot clash with a `createRequire` of the bundled code.
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __bannerCreateRequire } from 'node:module'; const require = __bannerCreateRequire(import.meta.url);";
