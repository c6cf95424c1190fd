// Bundling is quiet unless asked. Two sources of noise per asset during `cdk synth`: esbuild's summary
// (output files, sizes, "Done in …"), silenced by its log level, and the line aws-cdk-lib's
// AssetStaging writes to stderr before every bundle ("Bundling asset <path>..."), which no option
// turns off. Bundling runs synchronously inside the asset's constructor, so that line is dropped by
// filtering stderr for exactly the duration of the constructor call. Warnings and errors still show.
//
// Verbose (every line, esbuild at info) with DYNEG_BUNDLING_VERBOSE=1, or with `cdk synth --debug-app`
// (the CLI sets CDK_DEBUG=true for the app).

export const BUNDLING_VERBOSE_ENV = 'DYNEG_BUNDLING_VERBOSE';

/** esbuild's log level for our bundles: `info` prints a summary per bundle, `warning` only problems. */
export type BundlingLogLevel = 'info' | 'warning';

export function bundlingVerbose(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[BUNDLING_VERBOSE_ENV] === '1' || env.CDK_DEBUG === 'true';
}

export function bundlingLogLevel(env: NodeJS.ProcessEnv = process.env): BundlingLogLevel {
  return bundlingVerbose(env) ? 'info' : 'warning';
}

/** The progress line aws-cdk-lib writes before bundling an asset (core/lib/asset-staging). */
const CDK_BUNDLING_LINE = /^Bundling asset [^\n]*\.\.\.\n$/;

export function isCdkBundlingLine(chunk: unknown): boolean {
  const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString() : '';
  return CDK_BUNDLING_LINE.test(text);
}

/**
 * Runs `create` (a construct whose constructor bundles) with CDK's "Bundling asset …" line dropped
 * from stderr, unless bundling is verbose. Anything else written to stderr passes through.
 */
export function withQuietBundling<T>(create: () => T, env: NodeJS.ProcessEnv = process.env): T {
  if (bundlingVerbose(env)) return create();
  const stderr = process.stderr;
  const write = stderr.write;
  const filtered = ((chunk: unknown, ...rest: unknown[]): boolean => {
    if (isCdkBundlingLine(chunk)) {
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }
    return (write as (...args: unknown[]) => boolean).call(stderr, chunk, ...rest);
  }) as typeof stderr.write;
  stderr.write = filtered;
  try {
    return create();
  } finally {
    // Only undo our own patch: whatever replaced it meanwhile is someone else's to restore.
    if (stderr.write === filtered) stderr.write = write;
  }
}
