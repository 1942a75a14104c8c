/* The platform the engine may use, for `tsconfig.engine.json` only (the app's tsconfig has the
 * full DOM library and excludes this file).
 *
 * The engine runs in a dedicated worker and, unchanged, in Node under Vitest. So it compiles
 * against the ECMAScript library alone — no DOM (no document, window, HTMLElement, canvas),
 * no WebWorker globals (no self, postMessage: the worker entry owns those), no Node globals
 * (no process, Buffer) — plus the few web APIs below, which both a worker and Node 20+ have
 * (IndexedDB excepted: Node tests install fake-indexeddb). Each is declared with only the
 * members the engine calls, as a structural subset of the DOM library's own declaration, so
 * code written against it type-checks under both configurations. Reaching for anything else
 * fails `npm run typecheck`: add it here only if a worker and Node both provide it.
 * Image decoding (createImageBitmap, OffscreenCanvas) stays in src/worker for that reason. */

// Text
interface TextDecodeOptions { stream?: boolean }
interface TextDecoder { decode(input?: ArrayBufferView | ArrayBuffer, options?: TextDecodeOptions): string }
declare var TextDecoder: { prototype: TextDecoder; new (label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean }): TextDecoder }
interface TextEncoder { encode(input?: string): Uint8Array<ArrayBuffer> }
declare var TextEncoder: { prototype: TextEncoder; new (): TextEncoder }

// Time and scheduling
declare var performance: { now(): number; readonly timeOrigin: number }
declare function setTimeout(handler: (...args: any[]) => void, timeout?: number): number
interface MessagePort { onmessage: ((ev: unknown) => unknown) | null; postMessage(message: unknown): void; close(): void }
interface MessageChannel { readonly port1: MessagePort; readonly port2: MessagePort }
declare var MessageChannel: { prototype: MessageChannel; new (): MessageChannel }

// Bytes: blobs, files, streams
type ReadableStreamReadResult<T> = { done: false; value: T } | { done: true; value?: undefined }
interface ReadableStreamDefaultReader<R> { read(): Promise<ReadableStreamReadResult<R>>; releaseLock(): void; cancel(reason?: unknown): Promise<void> }
interface ReadableStream<R = unknown> { getReader(): ReadableStreamDefaultReader<R>; cancel(reason?: unknown): Promise<void> }
declare var ReadableStream: { prototype: ReadableStream }
type BlobPart = ArrayBufferView<ArrayBuffer> | ArrayBuffer | Blob | string
interface Blob {
  readonly size: number
  readonly type: string
  arrayBuffer(): Promise<ArrayBuffer>
  slice(start?: number, end?: number, contentType?: string): Blob
  stream(): ReadableStream<Uint8Array<ArrayBuffer>>
  text(): Promise<string>
}
declare var Blob: { prototype: Blob; new (blobParts?: BlobPart[], options?: { type?: string }): Blob }
interface File extends Blob { readonly name: string; readonly lastModified: number }
declare var File: { prototype: File; new (fileBits: BlobPart[], fileName: string, options?: { type?: string; lastModified?: number }): File }

// Network (also how model files chosen by the user are read: see models/filesFetch.ts)
interface Headers { get(name: string): string | null }
type BodyInit = ArrayBuffer | ArrayBufferView<ArrayBuffer> | Blob | string
interface ResponseInit { status?: number; statusText?: string; headers?: Record<string, string> }
interface Response {
  readonly ok: boolean
  readonly status: number
  readonly statusText: string
  readonly headers: Headers
  readonly body: ReadableStream<Uint8Array<ArrayBuffer>> | null
  readonly url: string
  arrayBuffer(): Promise<ArrayBuffer>
  json(): Promise<any> // as the DOM library declares it
  text(): Promise<string>
  blob(): Promise<Blob>
}
declare var Response: { prototype: Response; new (body?: BodyInit | null, init?: ResponseInit): Response }
declare function fetch(input: string, init?: { signal?: unknown; method?: string; headers?: Record<string, string> }): Promise<Response>

// Storage: the `idb` package wraps IndexedDB; the engine only checks it exists and builds key ranges.
declare var indexedDB: unknown
interface IDBKeyRange { readonly lower: unknown; readonly upper: unknown }
declare var IDBKeyRange: { prototype: IDBKeyRange; bound(lower: unknown, upper: unknown, lowerOpen?: boolean, upperOpen?: boolean): IDBKeyRange }

// WebAssembly: the optimizers' SIMD update (train/fusedUpdate.ts) binds a small module to the
// wasm backend's memory.
declare namespace WebAssembly {
  interface Memory { readonly buffer: ArrayBuffer }
  var Memory: { prototype: Memory; new (descriptor: { initial: number; maximum?: number; shared?: boolean }): Memory }
  interface Module {}
  var Module: { prototype: Module; new (bytes: ArrayBufferView<ArrayBuffer> | ArrayBuffer): Module }
  interface Instance { readonly exports: Record<string, unknown> }
  var Instance: { prototype: Instance; new (module: Module, importObject?: Record<string, Record<string, unknown>>): Instance }
}
