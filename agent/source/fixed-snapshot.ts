// A SnapshotSource that serves whatever snapshot `current` returns, as a table would whose pointer
// names it: for a cell fed by something other than the policy table (benchmarks, demos, tests of the
// cell agent), which still goes through the agent's own reading, checksum and never-go-back path.
import type { EncodedSnapshot } from '../../core/domain/snapshot.js';
import type { SnapshotSource } from './dynamodb.js';

export function fixedSnapshotSource(current: () => EncodedSnapshot): SnapshotSource {
  return {
    readPointer: async () => {
      const snapshot = current();
      return {
        version: snapshot.version,
        chunks: 1,
        bytes: snapshot.bytes.length,
        sha256: snapshot.sha256,
        writtenAt: new Date().toISOString(),
      };
    },
    readBytes: async () => current().bytes,
  };
}
