// The fan-out's two handlers, built from one set of dependencies. The Lambda entry (handler.ts) and
// local mode (local/propagation) both build them here, so local mode runs what Lambda runs.
import { createFanoutHandler, type FanoutDependencies, type FanoutHandler } from './fanout.js';
import { createRepublishHandler, type RepublishDependencies, type RepublishHandler } from './republish.js';

export type FanoutHandlersDependencies = FanoutDependencies & RepublishDependencies;

export interface FanoutHandlers {
  /** The table stream's batches (the event-source mapping). */
  readonly stream: FanoutHandler;
  /** The scheduled republish (the EventBridge rule). */
  readonly republish: RepublishHandler;
}

export function createFanoutHandlers(deps: FanoutHandlersDependencies): FanoutHandlers {
  return { stream: createFanoutHandler(deps), republish: createRepublishHandler(deps) };
}
