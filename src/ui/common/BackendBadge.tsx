import { formatNumber } from '../../format/format'
import { useStudio } from '../../state/store'

const NAMES = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WebAssembly', cpu: 'CPU' } as const

/** Always says which backend trains and why, so a slow run is never a mystery. */
export function BackendBadge() {
  const info = useStudio((s) => s.backend)
  if (!info) return <span className="badge pending" role="status">Backend: choosing…</span>
  const probes = info.probes.map((p) => `${p.name}: ${p.gflops === null ? p.note ?? 'n/a' : `${formatNumber(p.gflops)} GFLOP/s`}`).join(', ')
  return (
    <span className={`badge ${info.software ? 'soft' : 'gpu'}`} data-testid="backend-badge" data-backend={info.name} title={`${info.reason}${probes ? `. Measured: ${probes}` : ''}`}>
      Backend: <strong>{NAMES[info.name]}</strong>
      <span className="why"> — {info.reason}</span>
    </span>
  )
}

/** Said once, under the bar: without a GPU a run takes minutes, and that is expected. */
export function CpuNotice() {
  const software = useStudio((s) => s.backend?.software ?? false)
  if (!software) return null
  return (
    <p className="cpu-notice" data-testid="cpu-notice" role="note">
      No GPU in use: training runs on this computer's processor, so bigger runs take minutes. The default run is sized for that; the progress bar shows an honest time left.
    </p>
  )
}
