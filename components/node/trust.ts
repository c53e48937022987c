// SSH trust between two nodes (e.g. popos-deploy: oracle -> carlos@pop-os): the key pair is made
// on the trusting node and never leaves it; its public half is authorized on the target; the
// trusting user's ssh config gets the Host entry and the target's pinned host key.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { trustEnds, type MeshSpec } from "../../stacks/schema";
import { placeholderFor } from "../../stacks/settings";
import { recordArtifact } from "../artifacts";
import { asRoot, COMMAND_DEFAULTS, nodeConnection } from "./ssh";
import { renderTrustAuthorizeScript, renderTrustClientScript, renderTrustKeygenScript, renderTrustRevokeScript } from "./trust-scripts";

export interface SshTrustArgs {
  readonly spec: MeshSpec;
  /** The key's name in sshTrust. */
  readonly key: string;
  readonly privateKey: pulumi.Output<string>;
  /** Runs after these (the nodes' own setup). */
  readonly after?: readonly pulumi.Resource[];
}

/** The offline stand-in for a host key the topology does not pin yet. */
export function hostKeyOrPlaceholder(spec: MeshSpec, node: string): string {
  return spec.nodes[node]!.ssh.hostKey ?? placeholderFor(`mesh.nodes.${node}.ssh.hostKey`);
}

export class SshTrust extends pulumi.ComponentResource {
  /** The public key, as printed on the trusting node. */
  public readonly publicKey: pulumi.Output<string>;

  constructor(name: string, args: SshTrustArgs, opts?: pulumi.ComponentResourceOptions) {
    super("optimal-mesh:node:SshTrust", name, {}, opts);
    const { spec, key } = args;
    const t = spec.sshTrust[key]!;
    const from = spec.nodes[t.from]!;
    const to = spec.nodes[t.to]!;
    const { fromUser, alias } = trustEnds(spec, t);
    const conn = (node: string) => nodeConnection(spec, node, args.privateKey);
    const after = [...(args.after ?? [])];
    const artifact = (rel: string, text: string) => recordArtifact(`trust/${key}/${rel}`, text);

    const keygenScript = renderTrustKeygenScript(key, fromUser);
    artifact("keygen.sh", keygenScript);
    const keygen = new command.remote.Command(
      `${name}-keygen`,
      { ...COMMAND_DEFAULTS, connection: conn(t.from), create: asRoot(from.ssh.user, keygenScript) },
      { parent: this, dependsOn: after },
    );

    const authorizeScript = renderTrustAuthorizeScript(key, t.toUser);
    const revokeScript = renderTrustRevokeScript(key, t.toUser);
    artifact("authorize.sh", authorizeScript);
    artifact("revoke.sh", revokeScript);
    new command.remote.Command(
      `${name}-authorize`,
      {
        ...COMMAND_DEFAULTS,
        connection: conn(t.to),
        create: asRoot(to.ssh.user, authorizeScript),
        delete: asRoot(to.ssh.user, revokeScript),
        stdin: keygen.stdout,
      },
      // Its delete revokes what its create authorizes: on replacement the old must go first.
      { parent: this, dependsOn: after, additionalSecretOutputs: ["stdin"], deleteBeforeReplace: true },
    );

    const clientScript = renderTrustClientScript({
      keyName: key,
      user: fromUser,
      alias,
      host: t.to,
      targetUser: t.toUser,
      hostKey: hostKeyOrPlaceholder(spec, t.to),
    });
    artifact("client.sh", clientScript);
    new command.remote.Command(
      `${name}-client`,
      { ...COMMAND_DEFAULTS, connection: conn(t.from), create: asRoot(from.ssh.user, clientScript) },
      { parent: this, dependsOn: [keygen] },
    );

    this.publicKey = keygen.stdout;
    this.registerOutputs({ publicKey: this.publicKey });
  }
}
