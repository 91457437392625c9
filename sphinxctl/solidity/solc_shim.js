#!/usr/bin/env node
// Minimal solc command-line stand-in backed by solc-js (the npm `solc` package).
//
// Speaks the two things py-solc-x and crytic-compile ask of a solc binary:
//   --version                      prints "Version: <long version>" like solc
//   --standard-json [options]      reads standard JSON on stdin, writes standard JSON on stdout
// Options accepted with --standard-json: --base-path DIR, --include-path DIR (repeatable),
// --allow-paths DIR[,DIR] (imports are only read from under these, the base and include paths).
// The npm `solcjs` CLI is not used: it prints a non-JSON line before its output.
// Output is written with fs.writeSync in a loop: an async write followed by process.exit would
// truncate the output at the pipe buffer size (64 KiB).
// Environment: SPHINX_SOLCJS_DIR = directory of the npm `solc` package (default: resolved from here).
"use strict";

const fs = require("fs");
const path = require("path");

function loadSolc() {
  const dir = process.env.SPHINX_SOLCJS_DIR;
  return dir ? require(path.resolve(dir)) : require("solc");
}

function writeAll(fd, text) {
  const buffer = Buffer.from(text, "utf8");
  let offset = 0;
  while (offset < buffer.length) {
    try {
      offset += fs.writeSync(fd, buffer, offset, buffer.length - offset);
    } catch (err) {
      if (err.code !== "EAGAIN") throw err;
    }
  }
}

function parseArgs(argv) {
  const opts = { version: false, standardJson: false, basePath: null, includePaths: [], allowPaths: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === "--version") opts.version = true;
    else if (arg === "--standard-json") opts.standardJson = true;
    else if (arg === "--base-path") opts.basePath = value();
    else if (arg === "--include-path") opts.includePaths.push(value());
    else if (arg === "--allow-paths") opts.allowPaths.push(...value().split(",").filter(Boolean));
    else if (arg === "-" || arg === "--pretty-json" || arg === "--no-color") continue;
    else throw new Error(`unsupported option: ${arg}`);
  }
  return opts;
}

function makeImportCallback(opts) {
  const roots = [opts.basePath || process.cwd(), ...opts.includePaths].map((p) => path.resolve(p));
  const allowed = [...roots, ...opts.allowPaths.map((p) => path.resolve(p))];
  const isAllowed = (file) => allowed.some((dir) => file === dir || file.startsWith(dir + path.sep));
  return (importPath) => {
    const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((r) => path.join(r, importPath));
    for (const candidate of candidates) {
      const file = path.resolve(candidate);
      if (!isAllowed(file)) continue;
      try {
        return { contents: fs.readFileSync(file, "utf8") };
      } catch (err) {
        if (err.code !== "ENOENT" && err.code !== "EISDIR") return { error: `${importPath}: ${err.message}` };
      }
    }
    return { error: `File not found: ${importPath}` };
  };
}

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`solc-shim: ${err.message}\n`);
    return 2;
  }
  const solc = loadSolc();
  if (opts.version) {
    writeAll(1, `solc, the solidity compiler commandline interface (solc-js shim)\nVersion: ${solc.version()}\n`);
    return 0;
  }
  if (!opts.standardJson) {
    process.stderr.write("solc-shim: only --version and --standard-json are supported\n");
    return 2;
  }
  const input = fs.readFileSync(0, "utf8");
  const output = solc.compile(input, { import: makeImportCallback(opts) });
  writeAll(1, output);
  return 0;
}

process.exitCode = main();
