// The SDK floor of a plan: its registrations replayed (bench/replay-program.js) under the same
// offline runtime the plan uses, from the precompiled build. Prints how many were registered.
// usage: node bench/sdk-floor.js <plan out dir>/resources.json [--list]
// --list also prints each registration (type, name, parent), for the test that checks the replay.
"use strict";
const path = require("node:path");
process.env.OPTIMAL_MESH_REPLAY = path.resolve(process.argv[2]);
const { evaluateProgram } = require("../dist/offline/evaluate");
evaluateProgram(path.join(__dirname, "replay-program.js"), { project: "optimal-mesh", stack: "replay", values: {}, encrypted: [] }).then(
  (evaluation) => {
    if (evaluation.error !== undefined) throw evaluation.error;
    console.log(`replayed ${evaluation.registrations.length} registrations`);
    if (process.argv.includes("--list")) for (const r of evaluation.registrations) console.log(`${r.type} ${r.name} ${r.parent ?? "-"}`);
    process.exit(0);
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
