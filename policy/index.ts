// The optimal-mesh policy pack: `pulumi preview --policy-pack policy`.
import { PolicyPack } from "@pulumi/policy";
import { resourcePolicies, stackPolicies } from "./rules";

new PolicyPack("optimal-mesh", { policies: [...resourcePolicies, ...stackPolicies] });
