import { useStudio } from '../../state/store'
import { objectiveWords, useLm } from '../../state/lmObjectives'
import { Panel } from '../common/Panel'
import { ImageTry } from './ImageTry'
import { TextClassification } from './TextClassification'
import { TextGeneration } from './TextGeneration'
import { TabularTry } from './TabularTry'

/** Step 6: try the model by hand, before and after fine-tuning, side by side. */
export function PlaygroundPanel() {
  const task = useStudio((s) => s.dataset?.task)
  const model = useStudio((s) => s.model)
  const isImage = model?.input?.kind === 'image'
  // An instruction or preference run tunes the loaded model as a language model, whatever step 1's
  // dataset is: it writes text and has no class head, so it is tried by generating.
  const lmRun = useLm((s) => (s.runObjective === 'sft' || s.runObjective === 'dpo' ? s.runObjective : null))
  return (
    <Panel step={6} title="Try it" id="playground">
      {!model ? (
        <p className="muted">Load a model first.</p>
      ) : isImage ? (
        <ImageTry />
      ) : task === 'tabular-classification' || task === 'tabular-regression' || model.input?.kind === 'tabular' ? (
        <TabularTry />
      ) : lmRun ? (
        <>
          <p className="help" data-testid="playground-lm-run">
            The last run was {objectiveWords(lmRun)}: it tuned the language model, which writes text and has no class head, so the model is tried here by
            continuing a prompt, before and after tuning. To ask it the way the training rows were written (their prompt format or chat template), use the
            prompt box under <a href="#objectives">Instruction, preference and label-free tuning</a>.
          </p>
          <TextGeneration />
        </>
      ) : task === 'text-classification' || task === 'text-regression' ? (
        <TextClassification regression={task === 'text-regression'} />
      ) : (
        <TextGeneration />
      )}
    </Panel>
  )
}
