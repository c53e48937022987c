// Every logical resource name of a mesh, in one place: names are a contract with the stack's
// state (a rename without an alias deletes and recreates), and tools find resources by them.
//
// The root component is `mesh`, and names below it are not prefixed with it. Until stacks had
// one up under these names, each resource is also found under the name it had when the root was
// named after the stack (`prod`, and `prod-node-oracle-deploy` for `node-oracle-deploy`): the
// engine moves a resource it finds under an earlier name instead of replacing it.

/** A resource's logical name, and the name it had before (an alias). */
export interface Named {
  readonly name: string;
  readonly previous: string;
}

/** The root component's name. */
const ROOT_NAME = "mesh";

/** The names of one stack's resources. */
export function names(stack: string) {
  const named = (name: string): Named => ({ name, previous: `${stack}-${name}` });
  return {
    root: (): Named => ({ name: ROOT_NAME, previous: stack }),
    destroyGuard: () => named("destroy-guard"),
    tailnet: () => named("tailnet"),
    tailnetChild: (rest: string) => named(`tailnet-${rest}`),
    cockpit: () => named("cockpit"),
    cockpitChild: (rest: string) => named(`cockpit-${rest}`),
    tunnel: (key: string) => named(`tunnel-${key}`),
    tunnelChild: (key: string, rest: string) => named(`tunnel-${key}-${rest}`),
    node: (node: string) => named(`node-${node}`),
    nodeChild: (node: string, step: "bootstrap" | "install" | "deploy" | "heartbeat") => named(`node-${node}-${step}`),
    trust: (key: string) => named(`trust-${key}`),
    trustChild: (key: string, step: "keygen" | "authorize" | "client") => named(`trust-${key}-${step}`),
  };
}
