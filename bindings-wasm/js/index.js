// The entry for Node 20+, Deno, Bun (and browsers): loads the .wasm file next to the glue
// on import, then exports the API. Workers use the `workerd` entry (workerd.js) instead,
// since workerd only accepts WebAssembly imported as a compiled module.
import initWasm, { initSync } from "../pkg/s3keep_wasm.js";
import { setNotReady } from "./api.js";

export { BackupStore, RestoredFile } from "./api.js";
export * from "./errors.js";
export { restoreToDirectory } from "./node.js";

const WASM_URL = new URL("../pkg/s3keep_wasm_bg.wasm", import.meta.url);
let loading;
let loaded = false;
let failure;

/** The .wasm bytes, read the way each runtime can: Deno, Bun, Node from disk, else fetch. */
async function wasmBytes() {
  if (WASM_URL.protocol === "file:") {
    if (globalThis.Deno?.readFile) return globalThis.Deno.readFile(WASM_URL);
    if (globalThis.Bun?.file) return globalThis.Bun.file(WASM_URL).arrayBuffer();
    if (globalThis.process?.versions?.node) {
      const { readFile } = await import("node:fs/promises");
      return readFile(WASM_URL);
    }
  }
  return WASM_URL; // fetched by the glue (browsers, http: imports)
}

/**
 * Initialises the wasm module; done on import, so only needed to load it from elsewhere:
 * `init(module)` with a `WebAssembly.Module`, or `init(urlOrBytes)`. Idempotent.
 */
export function init(moduleOrPath) {
  if (loaded) return Promise.resolve();
  if (moduleOrPath instanceof WebAssembly.Module) {
    initSync({ module: moduleOrPath });
    loaded = true;
    return Promise.resolve();
  }
  loading ??= (async () => {
    await initWasm({ module_or_path: moduleOrPath ?? (await wasmBytes()) });
    loaded = true;
    failure = undefined;
  })().catch((e) => {
    loading = undefined;
    failure = e;
    throw e;
  });
  return loading;
}

setNotReady(() =>
  loaded
    ? undefined
    : new Error(
      `s3keep: the WebAssembly module is not initialised${failure ? ` (${failure.message ?? failure})` : ""}; ` +
        "call `await init()` (or `init(module)` with a WebAssembly.Module) first",
      failure ? { cause: failure } : undefined,
    ));

// Load on import, so that `new BackupStore(...)` works right away; a failure here (no read
// permission in Deno, say) is reported by the constructor, and `init()` can be retried.
await init().catch(() => {});
