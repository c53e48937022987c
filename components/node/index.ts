// A node host: remote commands over SSH on the tailnet that bootstrap the node (when it is new),
// install Bun and OptimalOS, deploy its units with a health gate, and register its heartbeat.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { MeshSpec } from "../../stacks/schema";
import { recordArtifact } from "../artifacts";
import { asRoot, COMMAND_DEFAULTS, connectionFor, DIAL_FIRST_BOOT, DIAL_RUNNING, nodeConnection } from "./ssh";
import { renderBundle } from "./bundle";
import { renderBootstrapScript, renderDeployScript, renderHeartbeatScript, renderInstallScript, renderRemoveScript } from "./scripts";
import { bundleFiles, nodeUnits, OFFLINE_SECRETS, unitPath } from "./units";

export interface NodeHostArgs {
  readonly spec: MeshSpec;
  readonly node: string;
  readonly privateKey: pulumi.Output<string>;
  /** The node's tailnet tags (for bootstrap). */
  readonly tags: readonly string[];
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

  constructor(name: string, args: NodeHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("optimal-mesh:node:NodeHost", name, {}, opts);
    const { spec, node } = args;
    const n = spec.nodes[node]!;
    const user = n.ssh.user;
    // A machine this program creates (the Hetzner server) may be on its first boot when its commands run.
    const connection = nodeConnection(spec, node, args.privateKey, args.rebuildId !== undefined ? DIAL_FIRST_BOOT : DIAL_RUNNING);
    const triggers = args.rebuildId === undefined ? undefined : [args.rebuildId];
    const artifact = (rel: string, text: string) => recordArtifact(`nodes/${node}/${rel}`, text);

    let after: pulumi.Resource[] = args.reachable !== undefined ? [args.reachable] : [];
    // A node to bootstrap gets its auth key here, unless something else joins it (the cockpit's cloud-init).
    if (n.tailnet.state === "bootstrap" && args.authKey !== undefined) {
      const script = renderBootstrapScript(node, args.tags);
      artifact("scripts/bootstrap.sh", script);
      // Before it joins, the node is reached at its first address; its host key is learned on this first contact.
      const first = connectionFor({ host: n.tailnet.firstAddress!, port: n.ssh.port, user, privateKey: args.privateKey });
      after = [
        new command.remote.Command(
          `${name}-bootstrap`,
          { ...COMMAND_DEFAULTS, connection: first, create: asRoot(user, script), stdin: args.authKey.apply((k) => `${k}\n`) },
          { parent: this, additionalSecretOutputs: ["stdin"] },
        ),
      ];
    }

    const installScript = renderInstallScript(spec, node);
    artifact("scripts/install.sh", installScript);
    const install = new command.remote.Command(
      `${name}-install`,
      { ...COMMAND_DEFAULTS, connection, create: asRoot(user, installScript), ...(triggers ? { triggers } : {}) },
      { parent: this, dependsOn: after },
    );

    // Reviewed offline with secret files as placeholders; deployed with the real secrets, on stdin.
    const planned = nodeUnits(spec, node, OFFLINE_SECRETS);
    const unitNames = planned.map((p) => p.unit.name);
    const files = bundleFiles(planned);
    for (const f of files) artifact(f.path === unitPath(f.unit) ? `units/${f.unit}.service` : `files${f.path}`, f.content);
    const secretFiles = files.filter((f) => f.secret);
    if (secretFiles.length > 0 && args.tunnelToken === undefined) throw new pulumi.ResourceError(`${node} runs cloudflared but hosts no tunnel`, this);
    // The bundle is secret either way; only a node with secret files renders it again, with them.
    const bundle =
      secretFiles.length === 0
        ? pulumi.secret(renderBundle(files))
        : pulumi.secret(args.tunnelToken!.apply((tunnelToken) => renderBundle(bundleFiles(nodeUnits(spec, node, { tunnelToken })))));

    const deployScript = renderDeployScript(spec, node, unitNames);
    const removeScript = renderRemoveScript(node, unitNames, files.map((f) => f.path).sort());
    artifact("scripts/deploy.sh", deployScript);
    artifact("scripts/remove.sh", removeScript);
    this.deploy = new command.remote.Command(
      `${name}-deploy`,
      {
        ...COMMAND_DEFAULTS,
        connection,
        create: asRoot(user, deployScript),
        delete: asRoot(user, removeScript),
        stdin: bundle,
        ...(triggers ? { triggers } : {}),
      },
      // A rebuild replaces this command: the old `delete` must not remove what the new `create` deployed.
      { parent: this, dependsOn: [install], deleteBeforeReplace: true, additionalSecretOutputs: ["stdin"] },
    );

    const heartbeatScript = renderHeartbeatScript(spec, node);
    artifact("scripts/heartbeat.sh", heartbeatScript);
    this.heartbeat = new command.remote.Command(
      `${name}-heartbeat`,
      { ...COMMAND_DEFAULTS, connection, create: asRoot(user, heartbeatScript), ...(triggers ? { triggers } : {}) },
      { parent: this, dependsOn: [this.deploy] },
    );
    this.registerOutputs({});
  }
}
