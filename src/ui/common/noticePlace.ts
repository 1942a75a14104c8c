/** Where a notice happened, in words. The worker names a failed command by its message type
 *  ('loadModel', 'resumeRun'), which is code, not something a person reads; other places are
 *  already words ('dataset spam.csv', 'file model.json') and are kept as they are. */
const WORDS: Readonly<Record<string, string>> = {
  worker: 'Engine',
  init: 'Starting the engine',
  loadDataset: 'Loading the dataset',
  loadModel: 'Loading the model',
  configure: 'Checking the settings',
  train: 'Training',
  pause: 'Pausing',
  resume: 'Resuming',
  stop: 'Stopping',
  evaluate: 'Evaluating',
  interpolate: 'Interpolating',
  keepAlpha: 'Keeping the α',
  sweep: 'Sweeping α',
  export: 'Export',
  predict: 'Try it',
  generate: 'Generating text',
  stopGenerate: 'Stopping the generation',
  loadValidation: 'Loading the validation file',
  clearValidation: 'Removing the validation file',
  setRoles: 'Choosing the columns',
  listDatasets: 'Stored datasets',
  selectDataset: 'Opening a stored dataset',
  deleteDataset: 'Deleting a stored dataset',
  restoreDataset: 'Reopening the dataset',
  loadImages: 'Loading the images',
  augmentPreview: 'Augmentation preview',
  setDataLimits: 'Data limits',
  listCheckpoints: 'Checkpoints',
  renameCheckpoint: 'Renaming a checkpoint',
  deleteCheckpoint: 'Deleting a checkpoint',
  storageEstimate: 'Storage',
  listRuns: 'Runs',
  deleteRun: 'Deleting a run',
  renameRun: 'Renaming a run',
  findInterrupted: 'Looking for an interrupted run',
  dismissInterrupted: 'Dismissing the interrupted run',
  freeSpace: 'Freeing space',
  restoreCheckpoint: 'Restoring a checkpoint',
  resumeRun: 'Continuing training',
  lmData: 'Reading the training file',
  lmTrain: 'Instruction or preference tuning',
  lmChat: 'Chat',
  lmRecipe: 'The TRL recipe',
  pseudoLabel: 'Labelling the texts',
  pseudoTrain: 'Self-training',
  pseudoSaved: 'Kept self-training',
  pseudoRestore: 'Restoring self-training rounds',
  pseudoDelete: 'Deleting self-training rounds',
  hfProbe: 'Looking up the Hugging Face model',
  hfLoad: 'Loading the Hugging Face model',
  hfListStored: 'Stored Hugging Face files',
  hfDeleteStored: 'Deleting stored Hugging Face files',
  hfNewHead: 'A new classifier head',
  hfNameHeadClasses: "Naming the head's classes",
}

/** The words a notice's `where` is shown with: known command names as words, any other
 *  camelCase name split into words ('fooBar' → 'foo bar'), text with spaces unchanged. */
export function noticePlace(where: string): string {
  const known = Object.hasOwn(WORDS, where) ? WORDS[where] : undefined
  if (known) return known
  if (/^[a-z]+(?:[A-Z][a-z0-9]*)+$/.test(where)) return where.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`)
  return where
}

/** The place a notice's text is shown after, or null when the text already starts with it: the
 *  engine's file errors begin with the file ('tokenizer.json: is not JSON', 'config.json is
 *  missing …'), and the notice read 'tokenizer.json: tokenizer.json: is not JSON'. */
export function noticeLead(where: string | undefined, text: string): string | null {
  if (!where) return null
  const place = noticePlace(where)
  return text.startsWith(place) && !/^[\p{L}\p{N}_]/u.test(text.slice(place.length)) ? null : place
}
