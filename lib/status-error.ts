// An error that is a Kubernetes Status: the operator answers with it, the CLI receives
// it. Node built-ins only, so the CLI's fast `infra tokens` path can import it.
export class StatusError extends Error {
  override name = 'StatusError';
  readonly code: number;
  readonly reason: string;

  constructor(code: number, reason: string, message: string) {
    super(message);
    this.code = code;
    this.reason = reason;
  }
}
