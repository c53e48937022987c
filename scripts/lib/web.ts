// Calls to the providers' web APIs from the operator commands. Every way of not reaching an API
// (a URL that is not one, a name that does not resolve, nothing listening, a certificate this
// machine does not trust, a cut connection, no answer in time, an answer that is not JSON) is
// the machine's or the setting's problem: an ApiUnreachable naming the API, the setting that
// points at it and the fix, never a TypeError that reads as a bug.

/** Which API a call is for: its name in messages and the setting (env var or config key) that points at it. */
export interface ApiOrigin {
  readonly api: string;
  readonly setting: string;
}

export class ApiUnreachable extends Error {
  override name = "ApiUnreachable";
}

/** Node's TLS verification failures (tls.connect's `code`s for an untrusted or wrong certificate). */
const CERTIFICATE_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** The innermost error `err` was caused by (fetch wraps the socket's error, undici wraps it again). */
function rootCause(err: unknown): unknown {
  let e = err;
  for (let i = 0; i < 5 && e instanceof Error && e.cause !== undefined; i++) e = e.cause;
  return e;
}

function codeOf(err: unknown): string | undefined {
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  return typeof code === "string" ? code : undefined;
}

/** Why a request did not get an answer, in words, and what to do about it. */
function unreachable(origin: ApiOrigin, url: URL, err: unknown): ApiUnreachable {
  const cause = rootCause(err);
  const code = codeOf(cause);
  const detail = cause instanceof Error ? `${cause.message}${code !== undefined && !cause.message.includes(code) ? ` (${code})` : ""}` : String(cause);
  const where = `${origin.api} at ${url.origin}`;
  const fix =
    err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")
      ? `it did not answer in time: check that ${origin.setting} names the API and that this machine reaches it`
      : code === "ENOTFOUND" || code === "EAI_AGAIN"
        ? `the name ${url.hostname} does not resolve: check ${origin.setting} and this machine's DNS`
        : code === "ECONNREFUSED"
          ? `nothing listens there: check ${origin.setting} (host and port)`
          : code !== undefined && CERTIFICATE_CODES.has(code)
            ? `its TLS certificate is not trusted here: check ${origin.setting}; for an endpoint of your own, give its CA with NODE_EXTRA_CA_CERTS=FILE (certificate checks stay on)`
            : `check ${origin.setting}, and this machine's network and proxy`;
  return new ApiUnreachable(`${where} cannot be reached: ${detail}; ${fix}`, { cause: err });
}

/** `url` as a URL, or an ApiUnreachable naming the setting it came from. */
export function apiUrl(origin: ApiOrigin, url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ApiUnreachable(`${origin.setting} does not give a URL (${JSON.stringify(url)}): set it to the API's base, e.g. https://host/path, or unset it`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:")
    throw new ApiUnreachable(
      `${origin.setting} gives a ${parsed.protocol} URL (${JSON.stringify(url)}): the API is reached over https (http for a local endpoint)`,
    );
  return parsed;
}

/** One request; a failure to get any answer is an ApiUnreachable. HTTP statuses are the caller's to judge. */
export async function apiRequest(origin: ApiOrigin, url: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<Response> {
  const parsed = apiUrl(origin, url);
  const { timeoutMs = 15_000, ...rest } = init;
  try {
    return await fetch(parsed, { ...rest, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw unreachable(origin, parsed, err);
  }
}

/** The JSON body of an answer; anything else (an HTML error page of a proxy) is an ApiUnreachable. */
export async function apiJson(origin: ApiOrigin, url: string, r: Response): Promise<unknown> {
  const text = await r.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const type = r.headers.get("content-type") ?? "no content type";
    throw new ApiUnreachable(
      `${origin.api} answered ${url.replace(/\?.*/, "")} with something that is not JSON (${type}, ${text.length} bytes): is ${origin.setting} the API's base URL, not a web page or a proxy's?`,
    );
  }
}
