// Loaded with -r by the benchmarks: reports the process's peak resident memory at exit.
"use strict";
process.on("exit", () => process.stderr.write(`bench-rss-kib=${process.resourceUsage().maxRSS}\n`));
