// How a component states its earlier name to the engine.
import type * as pulumi from "@pulumi/pulumi";
import type { Named } from "../plan/names";

/**
 * The alias that moves a component from its earlier name under the same parent. Given to the root
 * and to each component under it only: the engine derives its children's aliases itself, because
 * a child's name starts with its parent's (pulumi v3.248.0, pkg/resource/deploy/step_generator.go
 * `generateAliases` and `inheritedChildAlias`: `node-oracle-deploy` under `node-oracle`, once
 * found as `prod-node-oracle`, is looked for as `prod-node-oracle-deploy` too).
 */
export function aliasOf(named: Named): pulumi.Alias[] {
  return [{ name: named.previous }];
}
