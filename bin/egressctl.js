#!/usr/bin/env node
// The package's `egressctl` bin: loads tsx from this package (not from the caller's folder, as
// `node --import tsx` would) and runs bin/egressctl.ts, so the command works from any directory.
import { register } from 'tsx/esm/api';

register();
await import('./egressctl.ts');
