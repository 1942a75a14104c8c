/**
 * WebGPU's own errors, which TensorFlow.js never throws. A kernel WebGPU refuses (a bind group
 * over the device's storage-buffer limit, an invalid pipeline) raises no exception: the device
 * reports an "uncaptured error" event, the command buffer is dropped, and the kernel's output
 * keeps whatever its buffer held. A training step then "runs" on numbers nothing computed.
 * Measured on Dawn with lavapipe (`bench/node/webgpuFaults.test.ts`, a 153.6 MB embedding on a
 * 128 MiB limit): the held-out loss passed every check, and the run ended "Training diverged at
 * step 2 (loss NaN) … Lower the learning rate", advice that cannot help. The page measured the
 * same fault giving losses of 0 and −1e9 (impossibleLoss.ts catches losses no objective can
 * produce); this catches the fault itself, whatever numbers it leaves.
 *
 * The loop takes a mark when a run starts (`webgpuFaultMark`, which starts listening on the
 * running device) and asks at every loss it reads whether the device has reported anything
 * since (`webgpuFaultSince`). Off WebGPU both are no-ops.
 */
import * as tf from '@tensorflow/tfjs'

interface DeviceLike {
  addEventListener(type: 'uncapturederror', fn: (ev: { error?: { message?: string } }) => void): void
  lost?: Promise<{ reason?: string; message?: string }>
}

export interface WebgpuFault {
  /** Errors reported since the mark (a lost device counts as one). */
  count: number
  /** The first one, as the device put it: for the console, not for the page. */
  first: string
  /** The device is gone: its tensors, the model's weights included, with it. */
  lost: boolean
}

const watched = new WeakSet<object>()
const reported: string[] = []
let lostBecause: string | null = null

function runningDevice(): DeviceLike | null {
  try {
    if (tf.getBackend() !== 'webgpu') return null
    const device = (tf.backend() as unknown as { device?: DeviceLike }).device
    return device && typeof device.addEventListener === 'function' ? device : null
  } catch {
    return null
  }
}

/** Starts listening on the running WebGPU device (once per device) and returns a mark for
 *  `webgpuFaultSince`. Off WebGPU it listens to nothing. */
export function webgpuFaultMark(): number {
  const device = runningDevice()
  if (device && !watched.has(device)) {
    watched.add(device)
    device.addEventListener('uncapturederror', (ev) => reported.push(String(ev.error?.message ?? 'an unnamed WebGPU error').split('\n')[0]!))
    void device.lost?.then((info) => {
      lostBecause = `${info?.reason ?? 'unknown'}: ${info?.message ?? ''}`.trim()
    })
  }
  return reported.length
}

/** What the device reported since `mark`, or null when nothing. */
export function webgpuFaultSince(mark: number): WebgpuFault | null {
  if (lostBecause !== null) return { count: reported.length - mark + 1, first: `GPUDevice lost (${lostBecause})`, lost: true }
  if (reported.length > mark) return { count: reported.length - mark, first: reported[mark]!, lost: false }
  return null
}

/** Why the WebGPU device this page watched was lost, or null while it is not. */
export function webgpuDeviceLost(): string | null {
  return lostBecause
}

/** A run stopped because the GPU refused its kernels; the message is for the person and passes
 *  through engineErrors.explainEngineError unchanged. */
export class WebgpuFaultError extends Error {
  override name = 'WebgpuFaultError'
  constructor(
    message: string,
    /** The device's first report, as it put it (for the console and bug reports). */
    readonly deviceSaid: string,
    /** The device is gone, and the model's weights with it: the engine must start afresh. */
    readonly deviceLost = false,
  ) {
    super(message)
  }
}

/** Throws when the device reported errors since `mark` during work other than a run (an
 *  evaluation, a blend's measurement): its numbers were not all computed, so none are shown. */
export function throwOnWebgpuFault(mark: number, doing: string): void {
  const fault = webgpuFaultSince(mark)
  if (fault === null) return
  if (fault.lost) throw new WebgpuFaultError(`The GPU stopped working for the page while ${doing} (WebGPU lost its device: the driver reset, or the GPU ran out of memory). Choose WebAssembly in the Backend setting, or a smaller model, and try again.`, fault.first, true)
  const errors = fault.count === 1 ? 'an error' : `${fault.count} errors`
  throw new WebgpuFaultError(`The GPU refused to run part of this model while ${doing}: WebGPU reported ${errors}, so the numbers were never computed, and none are shown. This usually means a tensor is larger than this GPU allows in one buffer. Choose WebAssembly in the Backend setting and try again.`, fault.first)
}
