import { useStudio } from '../../state/store'
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
  return (
    <Panel step={6} title="Try it" id="playground">
      {!model ? (
        <p className="muted">Load a model first.</p>
      ) : isImage ? (
        <ImageTry />
      ) : task === 'tabular-classification' || task === 'tabular-regression' || model.input?.kind === 'tabular' ? (
        <TabularTry />
      ) : task === 'text-classification' || task === 'text-regression' ? (
        <TextClassification regression={task === 'text-regression'} />
      ) : (
        <TextGeneration />
      )}
    </Panel>
  )
}
