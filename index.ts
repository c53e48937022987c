// Entry point, as the language host and the offline plan load it: the program, its outputs exported.
import { meshProgram } from "./program";

// Set only by the offline plan (scripts/plan.ts), which runs this file under Pulumi's mocks.
export = meshProgram(process.env.OPTIMAL_MESH_OFFLINE === "1");
