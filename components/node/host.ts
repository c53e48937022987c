// A node host: remote commands over SSH on the tailnet that bootstrap the node (when it is new),
// install Bun and OptimalOS, deploy its units with a health gate, and register its heartbeat.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { fillTemplate } from "../../text/template";
import type { NodePlan } from "../../plan/mesh-plan";
import { aliasOf } from "../names";
import { asRoot } from "../../render/node/remote";
import { COMMAND_DEFAULTS, connectionFor } from "./ssh";

export interface NodeHostArgs {
  /** The node's part of the mesh plan. */
  readonly plan: NodePlan;
  readonly privateKey: pulumi.Output<string>;
  /** Single-use auth key, for a node to bootstrap; secret. */
  readonly authKey?: pulumi.Output<string>;
  /** Connector token of the tunnel this node runs; secret. */
  readonly tunnelToken?: pulumi.Output<string>;
  /** Changes when the machine is rebuilt (the Hetzner server id): install, deploy and heartbeat run again. */
  readonly rebuildId?: pulumi.Output<string>;
  /** What makes the node reachable over SSH under the tailnet policy (its device's tags): the first command waits for it. */
  readonly reachable?: pulumi.Resource;
}

export class NodeHost extends pulumi.ComponentResource {
  public readonly deploy: command.remote.Command;
  public readonly heartbeat: command.remote.Command;

  constructor(args: NodeHostArgs, opts?: pulumi.ComponentResourceOptions) {
    const { plan } = args;
    super("optimal-mesh:node:NodeHost", plan.name, {}, { ...opts, aliases: aliasOf(plan) });
    const user = plan.endpoint.user;
    const connection = connectionFor({ ...plan.endpoint, privateKey: args.privateKey }, plan.endpoint.patience);
    const triggers = args.rebuildId === undefined ? undefined : [args.rebuildId];

    let after: pulumi.Resource[] = args.reachable !== undefined ? [args.reachable] : [];
    // A node to bootstrap gets its auth key here (the cockpit's cloud-init joins the Hetzner server).
    if (plan.bootstrap !== undefined) {
      if (args.authKey === undefined) throw new pulumi.ResourceError(`${plan.node} bootstraps but was given no auth key`, this);
      const b = plan.bootstrap;
      after = [
        new command.remote.Command(
          b.name,
          {
            ...COMMAND_DEFAULTS,
            connection: connectionFor({ ...b.endpoint, privateKey: args.privateKey }, b.endpoint.patience),
            create: asRoot(user, b.script),
            stdin: args.authKey.apply((k) => `${k}\n`),
          },
          { parent: this, additionalSecretOutputs: ["stdin"] },
        ),
      ];
    }

    const install = new command.remote.Command(
      plan.install.name,
      { ...COMMAND_DEFAULTS, connection, create: asRoot(user, plan.install.script), ...(triggers ? { triggers } : {}) },
      { parent: this, dependsOn: after },
    );

    // The bundle is secret either way; a node with secret files renders it with the real ones.
    const d = plan.deploy;
    let bundle: pulumi.Output<string>;
    if ("text" in d.bundle) bundle = pulumi.secret(d.bundle.text);
    else {
      const { template } = d.bundle;
      if (args.tunnelToken === undefined) throw new pulumi.ResourceError(`${plan.node} runs cloudflared but was given no tunnel token`, this);
      bundle = pulumi.secret(args.tunnelToken.apply((tunnelToken) => fillTemplate(template, { tunnelToken })));
    }
    this.deploy = new command.remote.Command(
      d.name,
      {
        ...COMMAND_DEFAULTS,
        connection,
        create: asRoot(user, d.script),
        delete: asRoot(user, d.removeScript),
        stdin: bundle,
        ...(triggers ? { triggers } : {}),
      },
      // A rebuild replaces this command: the old `delete` must not remove what the new `create` deployed.
      { parent: this, dependsOn: [install], deleteBeforeReplace: true, additionalSecretOutputs: ["stdin"] },
    );

    this.heartbeat = new command.remote.Command(
      plan.heartbeat.name,
      { ...COMMAND_DEFAULTS, connection, create: asRoot(user, plan.heartbeat.script), ...(triggers ? { triggers } : {}) },
      { parent: this, dependsOn: [this.deploy] },
    );
    this.registerOutputs({ deploy: this.deploy, heartbeat: this.heartbeat });
  }
}
