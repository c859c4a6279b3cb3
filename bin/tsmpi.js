#!/usr/bin/env node
// The `tsmpi` command: a thin shim so that `bin` exists before the build; the launcher is in dist/.
import { main, flushAndExit } from "../dist/launcher/boot.js";

await flushAndExit(await main(process.argv.slice(2)));
