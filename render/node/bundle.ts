// The deploy bundle: how a node's files travel on the deploy command's stdin. Written once here:
// the writer, the bash reader in the deploy script, and the reader the drift check uses.
//   file UNIT MODE PATH BASE64   one line per file, sorted by path
//   end                          the last line: a bundle without it is incomplete
import { assertMarkedOnce, fillTemplate, holeMarker, templateParts, type Hole, type Template, type TemplatePart } from "../../text/template";
import type { BundleFile } from "./units";

const FILE = "file";
const END = "end";

/** A file as a bundle carries it. */
export interface BundleEntry {
  readonly unit: string;
  readonly mode: string;
  readonly path: string;
  readonly content: string;
}

/** The bundle of files without holes: the template with none, filled with nothing. */
export function renderBundle(files: readonly BundleFile[]): string {
  return fillTemplate(renderBundleTemplate(files, []), {});
}

/** The bundle with holes: a file whose content holds a hole's marker travels as a base64 part, filled first. */
export function renderBundleTemplate(files: readonly BundleFile[], holes: readonly Hole[]): Template {
  // Each hole once in the whole bundle: a config value in another file may not open a second one.
  assertMarkedOnce(files.map((f) => f.content).join("\n"), holes);
  const markers = holes.map(holeMarker);
  const parts: TemplatePart[] = [];
  let text = "";
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    const head = `${FILE} ${f.unit} ${f.mode} ${f.path} `;
    if (!markers.some((m) => f.content.includes(m))) {
      text += `${head}${Buffer.from(f.content).toString("base64")}\n`;
      continue;
    }
    parts.push(`${text}${head}`, {
      base64: templateParts(
        f.content,
        holes.filter((h) => f.content.includes(holeMarker(h))),
      ),
    });
    text = "\n";
  }
  parts.push(`${text}${END}\n`);
  return { parts };
}

export function parseBundle(bundle: string): BundleEntry[] {
  const entries: BundleEntry[] = [];
  for (const line of bundle.split("\n")) {
    if (line === END) return entries;
    if (line === "") continue;
    const [kind, unit, mode, path, data] = line.split(" ");
    if (kind !== FILE || !unit || !mode || !path || data === undefined) throw new Error(`not a bundle line: ${line.slice(0, 60)}`);
    entries.push({ unit, mode, path, content: Buffer.from(data, "base64").toString("utf8") });
  }
  throw new Error("bundle has no end line");
}

/** The bash that reads a bundle from stdin into "$stage"/0..n-1, with the arrays paths, modes and owners (the units). */
export function bundleReaderBash(): { title: string; lines: string[] } {
  return {
    title: `Read the bundle from stdin: \`${FILE} UNIT MODE PATH BASE64\` lines, then \`${END}\``,
    lines: [
      "paths=(); modes=(); owners=(); n=0; complete=no",
      "while read -r kind unit mode path data; do",
      '  case "$kind" in',
      `    ${FILE})`,
      '      printf \'%s\' "$data" | base64 -d > "$stage/$n"',
      "      paths[n]=$path; modes[n]=$mode; owners[n]=$unit; n=$((n + 1)) ;;",
      `    ${END}) complete=yes; break ;;`,
      '    *) log "unexpected bundle line: $kind"; exit 2 ;;',
      "  esac",
      "done",
      'if [ "$complete" != yes ]; then log "the bundle on stdin is incomplete"; exit 2; fi',
    ],
  };
}
