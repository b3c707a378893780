// The message of anything thrown, for logs and Status answers.
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && 'message' in err) return String(err.message);
  return String(err);
}

/** What was thrown, as an Error to rethrow: itself if it is one. */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(errorMessage(err));
}

/**
 * The message of what was thrown and of each cause under it, with their codes:
 * "fetch failed: other side closed (UND_ERR_SOCKET)", where the message alone says only "fetch failed".
 */
export function errorChain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e !== undefined && e !== null && parts.length < maxCauses; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    parts.push(typeof code === 'string' ? `${errorMessage(e)} (${code})` : errorMessage(e));
  }
  return parts.join(': ');
}

/** A chain of causes is short; this bounds one that refers to itself. */
const maxCauses = 8;
