// SSH trust between two nodes (e.g. popos-deploy: oracle -> carlos@pop-os): the key pair is made
// on the trusting node and never leaves it; its public half is authorized on the target; the
// trusting user's ssh config gets the Host entry and the target's pinned host key.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { TrustPlan } from "../../plan/mesh-plan";
import { aliasOf } from "../names";
import { asRoot } from "../../render/node/remote";
import { COMMAND_DEFAULTS, connectionFor } from "./ssh";

export interface SshTrustArgs {
  /** The trust's part of the mesh plan. */
  readonly plan: TrustPlan;
  readonly privateKey: pulumi.Output<string>;
  /** Runs after these (the nodes' own setup). */
  readonly after?: readonly pulumi.Resource[];
}

export class SshTrust extends pulumi.ComponentResource {
  /** The public key, as printed on the trusting node. */
  public readonly publicKey: pulumi.Output<string>;

  constructor(args: SshTrustArgs, opts?: pulumi.ComponentResourceOptions) {
    const { plan } = args;
    super("optimal-mesh:node:SshTrust", plan.name, {}, { ...opts, aliases: aliasOf(plan) });
    const conn = (e: TrustPlan["keygen"]["endpoint"]) => connectionFor({ ...e, privateKey: args.privateKey }, e.patience);
    const after = [...(args.after ?? [])];

    const keygen = new command.remote.Command(
      plan.keygen.name,
      { ...COMMAND_DEFAULTS, connection: conn(plan.keygen.endpoint), create: asRoot(plan.keygen.endpoint.user, plan.keygen.script) },
      { parent: this, dependsOn: after },
    );

    const a = plan.authorize;
    new command.remote.Command(
      a.name,
      {
        ...COMMAND_DEFAULTS,
        connection: conn(a.endpoint),
        create: asRoot(a.endpoint.user, a.script),
        delete: asRoot(a.endpoint.user, a.revokeScript),
        stdin: keygen.stdout,
      },
      // Its delete revokes what its create authorizes: on replacement the old must go first.
      { parent: this, dependsOn: after, additionalSecretOutputs: ["stdin"], deleteBeforeReplace: true },
    );

    new command.remote.Command(
      plan.client.name,
      { ...COMMAND_DEFAULTS, connection: conn(plan.client.endpoint), create: asRoot(plan.client.endpoint.user, plan.client.script) },
      { parent: this, dependsOn: [keygen] },
    );

    this.publicKey = keygen.stdout;
    this.registerOutputs({ publicKey: this.publicKey });
  }
}
