// Lab stand-in for the npm registry (test tooling): serves one package tarball to `bun add -g`
// on a host's loopback, inside that host's network namespace. Logs each request to stdout.
// usage: tsx test/lab/registry.ts <package.tgz> <name> <version> <port>
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";

const [tgzPath, name, version, portText] = process.argv.slice(2);
if (!tgzPath || !name || !version || !portText) throw new Error("usage: registry.ts <package.tgz> <name> <version> <port>");
const tgz = fs.readFileSync(tgzPath);
const port = Number(portText);
const tarballPath = `/${name}/-/${name}-${version}.tgz`;
const metadata = {
  name,
  "dist-tags": { latest: version },
  versions: {
    [version]: {
      name,
      version,
      bin: (JSON.parse(fs.readFileSync(path.join(__dirname, "standins/optimalos/package.json"), "utf8")) as { bin: Record<string, string> }).bin,
      dist: {
        tarball: `http://127.0.0.1:${port}${tarballPath}`,
        shasum: createHash("sha1").update(tgz).digest("hex"),
        integrity: `sha512-${createHash("sha512").update(tgz).digest("base64")}`,
      },
    },
  },
};

http
  .createServer((req, res) => {
    console.log(`${req.method} ${req.url}`);
    if (req.url === `/${name}`) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(metadata));
    } else if (req.url === tarballPath) {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": tgz.length });
      res.end(tgz);
    } else {
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"error":"not found"}');
    }
  })
  .listen(port, "127.0.0.1", () => console.log(`registry stand-in: ${name}@${version} on 127.0.0.1:${port}`));
