/** Files dropped on the page, folders included (walked with the File System entries API),
 *  each with its path inside what was dropped ("cats/1.png"). */
export interface DroppedFile {
  path: string
  file: File
}

export async function droppedFiles(dt: DataTransfer): Promise<{ files: DroppedFile[]; folder: string | null }> {
  const entries = [...dt.items].map((i) => (typeof i.webkitGetAsEntry === 'function' ? i.webkitGetAsEntry() : null))
  const dirs = entries.filter((e): e is FileSystemDirectoryEntry => !!e && e.isDirectory)
  if (dirs.length === 0) return { files: [...dt.files].map((f) => ({ path: f.name, file: f })), folder: null }
  const files: DroppedFile[] = []
  // One dropped folder holds the class folders; several dropped folders are the classes.
  for (const d of dirs) await walk(d, dirs.length === 1 ? '' : `${d.name}/`, files)
  return { files, folder: dirs.length === 1 ? (dirs[0]?.name ?? null) : 'dropped folders' }
}

async function walk(dir: FileSystemDirectoryEntry, prefix: string, out: DroppedFile[]): Promise<void> {
  const reader = dir.createReader()
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej))
    if (batch.length === 0) return
    for (const e of batch) {
      if (e.isDirectory) await walk(e as FileSystemDirectoryEntry, `${prefix}${e.name}/`, out)
      else {
        const file = await new Promise<File>((res, rej) => (e as FileSystemFileEntry).file(res, rej))
        out.push({ path: `${prefix}${e.name}`, file })
      }
    }
  }
}

/** Files from an <input webkitdirectory>: the path below the picked folder. */
export function pickedFolder(list: FileList): { files: DroppedFile[]; folder: string } {
  const files = [...list].map((f) => {
    const rel = f.webkitRelativePath || f.name
    const slash = rel.indexOf('/')
    return { path: slash >= 0 ? rel.slice(slash + 1) : rel, file: f }
  })
  const first = list[0]?.webkitRelativePath ?? ''
  return { files, folder: first.split('/')[0] || 'folder' }
}
