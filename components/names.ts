// How a component states a resource's earlier name to the engine.
import type * as pulumi from "@pulumi/pulumi";
import type { Named } from "../plan/names";

/** The alias that moves a resource from its earlier name (same parent types, so the same URN but the name). */
export function aliasOf(named: Named): pulumi.Alias[] {
  return [{ name: named.previous }];
}
