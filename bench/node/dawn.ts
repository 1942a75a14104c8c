/** WebGPU in Node through Dawn (the `webgpu` npm package), for tfjs-backend-webgpu.
 *  On a machine without a GPU, Dawn finds mesa's lavapipe (a software Vulkan driver):
 *  bookworm's own mesa 22 is too old for Dawn, bookworm-backports' mesa 25 works
 *  (.ci/run installs it; /work/shared/field-notes.md has the recipe). */
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'

export interface AdapterInfo {
  vendor: string
  architecture: string
  description: string
  device: string
  software: boolean // lavapipe / llvmpipe / SwiftShader: the CPU, not a GPU
}

const INSTALL_HINT =
  'Dawn found no WebGPU adapter. On a machine without a GPU install mesa\'s lavapipe from bookworm-backports: ' +
  'echo "deb http://deb.debian.org/debian bookworm-backports main" > /etc/apt/sources.list.d/bookworm-backports.list && ' +
  'apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1 (see .ci/run). On a GPU machine, install its Vulkan driver.'

let started: Promise<AdapterInfo> | null = null

/** Exposes Dawn as navigator.gpu, registers tfjs' webgpu backend and makes it current.
 *  Throws with what to install when there is no adapter. Idempotent. */
export function startDawn(): Promise<AdapterInfo> {
  started ??= start()
  return started
}

async function start(): Promise<AdapterInfo> {
  // Dawn's Vulkan loader wants a runtime directory; a container often has none.
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = mkdtempSync(path.join(os.tmpdir(), 'xdg-'))
  const { create, globals } = await import('webgpu')
  Object.assign(globalThis, globals)
  const gpu = create([])
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true })
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' })
  if (!adapter) throw new Error(INSTALL_HINT)
  const i = adapter.info
  const text = `${i.vendor} ${i.architecture} ${i.description} ${i.device}`.toLowerCase()
  const info: AdapterInfo = { vendor: i.vendor, architecture: i.architecture, description: i.description, device: i.device, software: /llvmpipe|lavapipe|swiftshader|software/.test(text) }
  // The backend registers itself only where navigator.gpu exists: import it after the lines above.
  await import('@tensorflow/tfjs-backend-webgpu')
  if (!(await tf.setBackend('webgpu'))) throw new Error(`tfjs could not start its webgpu backend on ${info.description}`)
  await tf.ready()
  watchDeviceErrors()
  return info
}

/** The WebGPU errors the device reported, in order. A kernel that fails validation (a binding
 *  over the device's limit, say) is not an exception: Dawn prints it, the command buffer is
 *  dropped and the output keeps whatever it held, so a timing around it measures nothing.
 *  The bench reads this list around each measurement (`deviceErrorsDuring`). */
const errors: string[] = []

interface ErrorEventTarget {
  addEventListener(type: 'uncapturederror', fn: (ev: { error?: { message?: string } }) => void): void
  queue: { onSubmittedWorkDone(): Promise<void> }
}

const device = (): ErrorEventTarget => (tf.backend() as unknown as { device: ErrorEventTarget }).device

function watchDeviceErrors(): void {
  device().addEventListener('uncapturederror', (ev) => errors.push(String(ev.error?.message ?? 'an unnamed WebGPU error').split('\n')[0]!))
}

/** Runs `fn` on the webgpu backend and returns the device errors reported while it ran (after
 *  the queue has drained and the error events have been delivered). */
export async function deviceErrorsDuring<T>(fn: () => Promise<T>): Promise<{ value: T; errors: string[] }> {
  const before = errors.length
  const value = await fn()
  await device().queue.onSubmittedWorkDone()
  await new Promise((r) => setTimeout(r, 20)) // Dawn delivers the events on a later turn
  return { value, errors: errors.slice(before) }
}
