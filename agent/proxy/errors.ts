// The proxy's failures besides bad input (a ValidationError, before any text is rendered).

/** `haproxy -c` refused a configuration; nothing was written over the one in use, nothing reloaded. */
export class ProxyConfigError extends Error {
  override readonly name = 'ProxyConfigError';
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** HAProxy did not start, reload or stop as asked. */
export class ProxyProcessError extends Error {
  override readonly name = 'ProxyProcessError';
}
