// npm run validate-policy -- [--stack NAME] [--file FILE]
// Tailscale's own check of the rendered tailnet policy, before it is merged: posts the plan's
// policy file to the tailnet's validate endpoint (which runs its syntax checks and its `tests`)
// and changes nothing. Exit 0 accepted, 1 rejected (with Tailscale's reasons), 2 could not run.
import { commentText } from "../text/escape";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseCommandLine, pathOption, runCommand, stackName } from "./lib/cli";
import { PROJECT_ROOT } from "../stacks/stackfile";
import { tailscaleApi } from "./lib/tailscale-api";
import { apiRequest } from "./lib/web";

const USAGE = `usage: npm run validate-policy -- [--stack NAME] [--file FILE]

Posts the policy the offline plan rendered (out/<stack>/tailnet/policy.hujson, or FILE) to
Tailscale's validate endpoint, which checks it and runs its tests without changing the tailnet.
Credentials from the environment, as the provider takes them: TAILSCALE_OAUTH_CLIENT_ID and
TAILSCALE_OAUTH_CLIENT_SECRET (a read-only client, scope policy_file:read), or TAILSCALE_API_KEY;
TAILSCALE_TAILNET and TAILSCALE_BASE_URL are optional.
Exit status: 0 accepted, 1 rejected, 2 could not run.`;

/** Tailscale's answer: a message (and per-user errors) when the policy is rejected, even with a 200. */
interface ValidateAnswer {
  readonly message?: string;
  readonly data?: readonly { readonly user?: string; readonly errors?: readonly string[] }[];
}

async function main(): Promise<number> {
  const { values } = parseCommandLine({
    stack: { type: "string", default: "prod", value: "NAME" },
    file: { type: "string", value: "FILE" },
  });
  const stack = stackName(values.stack);
  const file = values.file === undefined ? path.join(PROJECT_ROOT, "out", stack, "tailnet", "policy.hujson") : pathOption("file", values.file, "FILE");
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist: run npm run plan -- --stack ${stack} first`);
  const api = await tailscaleApi({
    baseUrl: process.env.TAILSCALE_BASE_URL,
    baseUrlSetting: "TAILSCALE_BASE_URL",
    tailnet: process.env.TAILSCALE_TAILNET,
    apiKey: process.env.TAILSCALE_API_KEY,
    oauthClientId: process.env.TAILSCALE_OAUTH_CLIENT_ID,
    oauthClientSecret: process.env.TAILSCALE_OAUTH_CLIENT_SECRET,
  });
  const r = await apiRequest(api.origin, `${api.base}/api/v2/tailnet/${encodeURIComponent(api.tailnet)}/acl/validate`, {
    method: "POST",
    headers: { authorization: api.auth, "content-type": "application/hujson" },
    body: fs.readFileSync(file, "utf8"),
    timeoutMs: 30_000,
  });
  const text = await r.text();
  let answer: ValidateAnswer = {};
  try {
    answer = text === "" ? {} : (JSON.parse(text) as ValidateAnswer);
  } catch {
    answer = { message: text.slice(0, 500) };
  }
  if (r.status >= 500 || r.status === 401 || r.status === 403)
    throw new Error(`Tailscale's validate endpoint answered HTTP ${r.status}${answer.message ? `: ${commentText(answer.message)}` : ""}`);
  if (r.ok && !answer.message) {
    console.log(`validate-policy: Tailscale accepts ${path.relative(process.cwd(), file) || file} (its checks and tests pass)`);
    return 0;
  }
  // Tailscale's words reach the terminal escaped: a control character in an answer is shown, not sent.
  console.error(`validate-policy: Tailscale rejects ${file}: ${commentText(answer.message ?? `HTTP ${r.status}`)}`);
  for (const d of answer.data ?? []) for (const e of d.errors ?? []) console.error(`  ${commentText(`${d.user ? `${d.user}: ` : ""}${e}`)}`);
  return 1;
}

runCommand("validate-policy", main, { usage: USAGE });
