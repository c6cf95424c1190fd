// What the command-line parsers of `npm start` and `npm run token` return: the options, or the one
// line to print as `error: ...` before exiting with EXIT_USAGE. Plain values, so that the parsers are
// tested without a process and the entry points in bin/ only wire them to one.

export const EXIT_USAGE = 2;

/** Environment variables as the process has them (absent ones are undefined). */
export type Environment = Readonly<Record<string, string | undefined>>;

export type Parsed<T> = { readonly ok: true; readonly options: T } | { readonly ok: false; readonly error: string };
