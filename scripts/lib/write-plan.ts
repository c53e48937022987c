// Writes an offline plan to its out directory: the text, every registration, the outputs and
// every artifact. Secret artifacts are never written; a marker says so.
import * as fs from "node:fs";
import * as path from "node:path";
import { SECRET_MASK, type Evaluation } from "./offline";

/** Replaces `outDir` with the plan's files; returns how many were written. */
export function writePlanFiles(outDir: string, text: string, evaluation: Evaluation): number {
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  let count = 0;
  const write = (rel: string, body: string) => {
    const file = path.join(outDir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, body);
    count++;
  };
  write("plan.txt", text);
  write("resources.json", `${JSON.stringify(evaluation.registrations, null, 2)}\n`);
  write("outputs.json", `${JSON.stringify(evaluation.outputs, null, 2)}\n`);
  for (const artifact of evaluation.artifacts) {
    if (artifact.secret) write(`${artifact.path}.secret`, `${SECRET_MASK} this artifact holds a secret; it is not written offline\n`);
    else write(artifact.path, artifact.text);
  }
  return count;
}
