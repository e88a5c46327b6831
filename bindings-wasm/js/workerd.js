// The entry for Cloudflare Workers (workerd), chosen by the "workerd" export condition:
// workerd refuses to compile WebAssembly at run time, so the .wasm is imported as a
// compiled WebAssembly.Module (wrangler and Miniflare's "CompiledWasm" modules).
import wasmModule from "../pkg/s3keep_wasm_bg.wasm";
import { initSync } from "../pkg/s3keep_wasm.js";

initSync({ module: wasmModule });

export { BackupStore, RestoredFile } from "./api.js";
export * from "./errors.js";

/** Already initialised from the imported module; kept for the same API as the main entry. */
export function init() {
  return Promise.resolve();
}
