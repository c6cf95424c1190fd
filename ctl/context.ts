// What every command runs with: where to print, whether to print JSON, and the API (resolved only
// when a command first calls it, so `--help` and usage errors need no API and no token).
import type { ApiClient } from './api-client.js';

export interface CtlIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface CtlContext {
  readonly io: CtlIo;
  /** `--json`: print the API's answers for scripts instead of tables. */
  readonly json: boolean;
  readonly now: () => Date;
  api(): Promise<ApiClient>;
}

/** Prints `value` as indented JSON, one document per command. */
export function printJson(io: CtlIo, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}
