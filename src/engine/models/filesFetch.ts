import { ModelLoadError } from './modelLoadError'

/** Files chosen together (model.json + its weight shards) as a fetch over a virtual
 *  folder, so files and URLs go through the same loader and the same checks. */
export const FILES_BASE = 'chosen-files:/'

export interface NamedBlob {
  name: string
  size: number
  arrayBuffer(): Promise<ArrayBuffer>
}

export function filesFetch(files: readonly NamedBlob[]): { url: string; fetchFn: (url: string) => Promise<Response> } {
  const byName = new Map(files.map((f) => [f.name, f] as const))
  const jsons = files.filter((f) => f.name.toLowerCase().endsWith('.json'))
  const main = byName.get('model.json') ?? (jsons.length === 1 ? jsons[0] : undefined)
  if (!main) {
    throw new ModelLoadError(
      jsons.length
        ? `Several .json files were chosen (${jsons.map((f) => f.name).join(', ')}) and none is named model.json: choose one model's model.json with its .bin files.`
        : `No model.json among the chosen files (${files.map((f) => f.name).join(', ') || 'none'}): choose model.json together with its .bin weight files.`,
      'model files',
    )
  }
  const fetchFn = async (url: string): Promise<Response> => {
    const name = decodeURIComponent(url.startsWith(FILES_BASE) ? url.slice(FILES_BASE.length) : url.slice(url.lastIndexOf('/') + 1))
    const f = byName.get(name)
    if (!f) {
      throw new ModelLoadError(`${main.name} names the weight file ${name}, which was not among the chosen files: choose ${main.name} together with all its .bin files (hold Ctrl or Shift to pick several).`, `file ${name}`)
    }
    return new Response(await f.arrayBuffer(), { status: 200, headers: { 'content-length': String(f.size) } })
  }
  return { url: FILES_BASE + encodeURIComponent(main.name), fetchFn }
}
