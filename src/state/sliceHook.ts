import { useStudio, type PartsSlice, type Studio } from './store'

type Part = keyof PartsSlice

/** A hook over one part of the studio store, with the API the parts had as stores of their
 *  own (`useX(selector)`, `useX.getState()`, `useX.setState(patch)`). There is one store, so
 *  an event that changes two parts can change both in one update. */
export function sliceHook<K extends Part>(key: K) {
  type S = Studio[K]
  function use(): S
  function use<T>(select: (s: S) => T): T
  function use<T>(select?: (s: S) => T): T | S {
    return useStudio((st) => (select ? select(st[key]) : st[key]))
  }
  use.getState = (): S => useStudio.getState()[key]
  use.setState = (patch: Partial<S> | ((s: S) => Partial<S>)): void =>
    useStudio.setState((st) => ({ [key]: { ...st[key], ...(typeof patch === 'function' ? patch(st[key]) : patch) } }) as Pick<Studio, K>)
  return use
}
