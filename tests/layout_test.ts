/**
 * The shape of lib/: every file sits in a known folder, and imports run one
 * way, from the programs down to the wire and I/O (see CONTRIBUTING.md):
 *
 * ```
 * cli → ui → session → wire → io
 * cli → security → net → wire → io
 * ```
 *
 * A folder may import from itself and from the folders below it, never from
 * a folder above or beside it. `lib/session.ts`, named by the design card,
 * belongs to the session folder.
 */

import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const LIB = join(ROOT, "lib");
const MANIFEST = join(ROOT, "deno.json");

/** The folders of lib/, each with the folders it may import from (besides itself). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  io: [],
  wire: ["io"],
  net: ["wire", "io"],
  security: ["net", "wire", "io"],
  session: ["wire", "io"],
  ui: ["session", "wire", "io"],
  web: ["ui", "session", "wire", "io"],
  cli: ["web", "ui", "session", "security", "net", "wire", "io"],
};

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) files.push(...sourceFiles(path));
    else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files.sort();
}

/** Every module specifier a file imports or re-exports, statically or dynamically. */
function importsOf(path: string): string[] {
  const text = Deno.readTextFileSync(path);
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gms,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) found.push(match[1]);
  }
  return found;
}

/** The folder of lib/ a file belongs to, or undefined outside lib/. */
function layerOf(path: string): string | undefined {
  const inLib = relative(LIB, path);
  if (inLib.startsWith("..")) return undefined;
  if (inLib === "session.ts") return "session";
  const parts = inLib.split("/");
  return parts.length > 1 ? parts[0] : "(top)";
}

Deno.test("lib/session.ts is where the design card says, and every other lib file is in a known folder", () => {
  assert.ok(Deno.statSync(join(LIB, "session.ts")).isFile);
  const stray = sourceFiles(LIB).map((file) => relative(ROOT, file)).filter((file) => {
    const layer = layerOf(join(ROOT, file));
    return layer === undefined || !(layer in MAY_IMPORT);
  });
  assert.deepEqual(stray, [], "files outside the folders this test knows: place them, or add the folder here");
});

/** The packages lib/security/ may import: the audited noble libraries, pinned in deno.json. */
const CRYPTO_PACKAGE = /^@noble\/(curves|hashes)\//;

Deno.test("imports in lib/ run one way: from the programs down to the wire and I/O", () => {
  const wrong: string[] = [];
  for (const file of sourceFiles(LIB)) {
    const from = layerOf(file)!;
    for (const specifier of importsOf(file)) {
      if (!specifier.startsWith(".")) {
        // The audited cryptography, and only in security/; Node's built-ins anywhere.
        const allowed = specifier.startsWith("node:") || (from === "security" && CRYPTO_PACKAGE.test(specifier));
        if (!allowed) wrong.push(`${relative(ROOT, file)} imports a package: ${specifier}`);
        continue;
      }
      const target = resolve(dirname(file), specifier);
      const to = layerOf(target);
      if (to === undefined && target === MANIFEST) continue; // the version, stated once in deno.json
      if (to === undefined) {
        wrong.push(`${relative(ROOT, file)} imports from outside lib/: ${specifier}`);
      } else if (to !== from && !MAY_IMPORT[from]?.includes(to)) {
        wrong.push(`${relative(ROOT, file)} (${from}) imports ${relative(ROOT, target)} (${to})`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});

Deno.test("the entry points import only the programs in lib/cli/", () => {
  for (const entry of ["server.ts", "client.ts"]) {
    const specifiers = importsOf(join(ROOT, entry)).filter((specifier) => !specifier.startsWith("node:"));
    const targets = specifiers.map((specifier) => resolve(ROOT, specifier));
    assert.ok(targets.length > 0, `${entry} imports nothing`);
    for (const target of targets) assert.equal(layerOf(target), "cli", `${entry} imports ${relative(ROOT, target)}`);
  }
});

Deno.test("the import check sees imports of every form, so that it can fail", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = join(dir, "sample.ts");
    Deno.writeTextFileSync(
      path,
      [
        'import { a } from "./a.ts";',
        "import {\n  b,\n  c,\n} from './single_quoted.ts';",
        'import type { D } from "../d.ts";',
        'export { e } from "./e.ts";',
        'import "./side_effect.ts";',
        'const f = await import("./f.ts");',
      ].join("\n"),
    );
    assert.deepEqual(importsOf(path).sort(), [
      "../d.ts",
      "./a.ts",
      "./e.ts",
      "./f.ts",
      "./side_effect.ts",
      "./single_quoted.ts",
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
