// A policy table endpoint on loopback that accepts connections and never answers: what a black-holing
// proxy or network path looks like to the agent's DynamoDB client.
import { createServer } from 'node:http';

export interface SilentTable {
  /** `http://127.0.0.1:<port>`, for AWS_ENDPOINT_URL_DYNAMODB. */
  readonly endpoint: string;
  /** Drops its connections and stops listening (the table gone: connections are refused). */
  close(): void;
}

export async function startSilentTable(): Promise<SilentTable> {
  const server = createServer(() => undefined);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
