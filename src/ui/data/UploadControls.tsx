import { useId, useState, type DragEvent, type ReactNode } from 'react'
import { uploadDataset, uploadImages, uploadValidation } from '../../state/actions'
import { useStudio } from '../../state/store'
import { droppedFiles, pickedFolder, type DroppedFile } from './dropFiles'

const TEXT_ACCEPT = '.csv,.tsv,.txt,.json,.jsonl,.ndjson,.zip,text/csv,text/plain,application/json,application/zip'

/** Routes one picked or dropped file: a .zip is a set of class folders, anything else a table. */
function uploadOne(file: File) {
  if (/\.zip$/i.test(file.name)) uploadImages({ kind: 'zip', file })
  else uploadDataset(file)
}

function uploadFolder(files: DroppedFile[], folder: string) {
  if (files.length === 0) {
    useStudio.getState().notify({ kind: 'error', text: `The folder ${folder} is empty. Put one subfolder of images per class in it.`, where: `images ${folder}` })
    return
  }
  uploadImages({ kind: 'files', files, name: folder })
}

/** The file pickers, and the whole Data panel as a drop target around them. */
export function DropArea({ children, disabled }: { children: ReactNode; disabled: boolean }) {
  const [over, setOver] = useState(false)
  const onDrop = async (e: DragEvent) => {
    e.preventDefault()
    setOver(false)
    if (disabled) return
    const { files, folder } = await droppedFiles(e.dataTransfer)
    if (folder) uploadFolder(files, folder)
    else if (files.length === 1 && files[0]) uploadOne(files[0].file)
    else if (files.length > 1 && files.every((f) => /\.(png|jpe?g|webp)$/i.test(f.path))) {
      useStudio.getState().notify({ kind: 'error', text: 'Loose images have no class: drop a folder with one subfolder per class, or a .zip of them.', where: 'images' })
    } else if (files.length > 1) {
      useStudio.getState().notify({ kind: 'error', text: `Drop one file at a time (got ${files.length}); add a validation file with its own picker.`, where: 'dataset' })
    }
  }
  return (
    <div
      className={`dropzone${over ? ' over' : ''}`}
      data-testid="data-dropzone"
      onDragOver={(e) => {
        e.preventDefault()
        setOver(true)
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => void onDrop(e)}
    >
      {children}
    </div>
  )
}

export function UploadControls({ disabled, hasTable, validationName }: { disabled: boolean; hasTable: boolean; validationName: string | null }) {
  const fileId = useId()
  const valId = useId()
  const dirId = useId()
  return (
    <div className="row">
      <div className="field">
        <label htmlFor={fileId}>Your own file (CSV, TSV, JSON Lines, JSON, plain text, or a .zip of image folders)</label>
        <input
          id={fileId}
          type="file"
          accept={TEXT_ACCEPT}
          disabled={disabled}
          title="Pick a file, or drop it anywhere on this panel."
          onChange={(e) => {
            const f = e.target.files?.[0]
            if (f) uploadOne(f)
            e.target.value = ''
          }}
          aria-describedby={`${fileId}-help`}
        />
        <p className="help" id={`${fileId}-help`}>
          Or drop a file or folder on this panel. Read in a background thread and kept in this browser only. A CSV needs a text column with a label or a numeric target, or numeric feature columns with one of those.
        </p>
      </div>
      <div className="field">
        <label htmlFor={valId}>Validation file (optional, same columns)</label>
        <input
          id={valId}
          type="file"
          accept=".csv,.tsv,.json,.jsonl,.ndjson,text/csv,application/json"
          disabled={disabled || !hasTable}
          title="Validate on this file instead of holding out part of the training file."
          onChange={(e) => {
            const f = e.target.files?.[0]
            if (f) uploadValidation(f)
            e.target.value = ''
          }}
          aria-describedby={`${valId}-help`}
        />
        <p className="help" id={`${valId}-help`}>
          {validationName ? `Validating on ${validationName}; the validation split setting is not used.` : 'Without one, the validation split setting holds out part of the training file.'}
        </p>
      </div>
      <div className="field">
        <label htmlFor={dirId}>A folder of images (one subfolder per class)</label>
        <input
          id={dirId}
          type="file"
          disabled={disabled}
          title="PNG, JPEG, WebP or GIF images in one subfolder per class, e.g. cats/1.png, dogs/1.png."
          // React does not know webkitdirectory; it is passed through as an attribute.
          {...{ webkitdirectory: '', directory: '' }}
          multiple
          onChange={(e) => {
            if (e.target.files?.length) {
              const { files, folder } = pickedFolder(e.target.files)
              uploadFolder(files, folder)
            }
            e.target.value = ''
          }}
          aria-describedby={`${dirId}-help`}
        />
        <p className="help" id={`${dirId}-help`}>
          PNG, JPEG, WebP or GIF; the subfolder names are the classes.
        </p>
      </div>
    </div>
  )
}
