// Run after `npm install` changes package-lock.json: the registry this project is built
// against has no darwin/win32/linux-arm builds of msgpackr-extract (an optional dependency
// of msgpackr that tsmpi does not use), so npm leaves them out of the lock, and `npm ci`
// then refuses the lock as out of sync. This adds placeholder entries for them; npm ci skips
// them on this platform, as it does any optional package for another OS or CPU.
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
const extract = lock.packages["node_modules/msgpackr-extract"];
const wanted = extract?.optionalDependencies ?? {};
const platforms = {
  "darwin-arm64": ["darwin", "arm64"],
  "darwin-x64": ["darwin", "x64"],
  "linux-arm": ["linux", "arm"],
  "linux-arm64": ["linux", "arm64"],
  "linux-x64": ["linux", "x64"],
  "win32-x64": ["win32", "x64"],
};
for (const [name, version] of Object.entries(wanted)) {
  const key = `node_modules/${name}`;
  const [os, cpu] = platforms[name.replace("@msgpackr-extract/msgpackr-extract-", "")] ?? [];
  // msgpackr is a devDependency (bundled into dist/), so npm marks its addon's builds dev too.
  if (lock.packages[key] === undefined && os)
    lock.packages[key] = { version, cpu: [cpu], ...(extract.dev && { dev: true }), license: "MIT", optional: true, os: [os] };
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
