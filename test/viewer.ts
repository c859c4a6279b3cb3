/**
 * Open a trace or a CPU profile the way a user would: speedscope's static build (from npm)
 * served on 127.0.0.1, in Debian's chromium, headless, with a fresh profile directory.
 * Nothing is downloaded: playwright-core only drives the installed browser.
 */
import { createServer, type Server } from "node:http";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, resolve } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { ROOT } from "./helpers.js";

export const CHROMIUM = "/usr/bin/chromium";
const SPEEDSCOPE = join(ROOT, "node_modules/speedscope/dist/release");
const TYPES: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".woff2": "font/woff2",
};

export interface Viewer {
  /** Load `file` in speedscope; resolves once it has been imported. */
  open(file: string): Promise<Page>;
  close(): Promise<void>;
  /** Messages the page logged (speedscope reports import problems here). */
  console: string[];
}

/** Serve speedscope and `file`s on 127.0.0.1 and start chromium. */
export async function startViewer(): Promise<Viewer> {
  const served = new Map<string, string>();
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://127.0.0.1").pathname);
    const file = served.get(path) ?? resolve(SPEEDSCOPE, `.${path === "/" ? "/index.html" : path}`);
    if ((!served.has(path) && !file.startsWith(SPEEDSCOPE)) || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    response.end(readFileSync(file));
  });
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  const port = (server.address() as { port: number }).port;
  const profileDir = mkdtempSync(join(tmpdir(), "tsmpi-chromium-"));
  const browser: BrowserContext = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 700 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const log: string[] = [];
  return {
    console: log,
    async open(file) {
      const path = `/files/${served.size}${extname(file)}`;
      served.set(path, file);
      const page = await browser.newPage();
      page.on("console", (message) => log.push(message.text()));
      page.on("pageerror", (error) => log.push(`page error: ${error.message}`));
      const url = `http://127.0.0.1:${port}${path}`;
      // speedscope logs "import: N ms" once it has read a profile (and an error otherwise).
      const imported = page.waitForEvent("console", { predicate: (message) => message.text().startsWith("import:"), timeout: 60_000 });
      await page.goto(`http://127.0.0.1:${port}/index.html#profileURL=${encodeURIComponent(url)}`);
      await imported;
      return page;
    },
    async close() {
      await browser.close();
      await new Promise((done) => server.close(done));
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}
