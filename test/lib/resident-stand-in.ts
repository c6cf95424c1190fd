// For tests of the scripts that hand a sync to the resident agent (lib/cell-resident.ts): a sh loop
// in its place that answers every request in a folder with a fixed exit code.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface ResidentStandIn {
  /** What each request asked, in order ("<min-version> <verify>"). */
  readonly asked: () => string[];
  readonly stop: () => void;
}

/** Answers each request in `requests` (created here) with stdout "synced" and exit `code`. */
export function residentStandIn(requests: string, code: number): ResidentStandIn {
  mkdirSync(requests, { mode: 0o700 });
  const log = join(dirname(requests), 'resident.log');
  const loop = [
    'while :; do for f in "$0"/*.request; do [ -e "$f" ] || continue;',
    // As the agent does (agent/serve/requests.ts): taken by a rename, answered, then .taken removed.
    'id=$(basename "$f" .request); mv "$f" "$0/$id.taken"; cat "$0/$id.taken" >> "$2";',
    'echo synced > "$0/$id.out"; : > "$0/$id.err"; echo "$1" > "$0/$id.code.tmp"; mv "$0/$id.code.tmp" "$0/$id.code"; rm -f "$0/$id.taken";',
    'done; sleep 0.01; done',
  ].join(' ');
  const child = spawn('/bin/sh', ['-c', loop, requests, String(code), log], { stdio: 'ignore' });
  return {
    asked: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []),
    stop: () => child.kill('SIGKILL'),
  };
}
