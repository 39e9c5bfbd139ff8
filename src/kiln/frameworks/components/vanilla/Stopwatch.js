import { h } from './dom.js'

function format(ms) {
  const minutes = Math.floor(ms / 60000)
  const seconds = Math.floor((ms % 60000) / 1000)
  const tenths = Math.floor((ms % 1000) / 100)
  return `${String(minutes).padStart(2, '0')}:${String(seconds).padStart(2, '0')}.${tenths}`
}

export function mountStopwatch(root) {
  let elapsed = 0
  let timer
  let laps = []
  const display = h('p', { class: 'big' }, format(0))
  const startButton = h('button', { onclick: toggle }, 'Start')
  const lapButton = h('button', { class: 'ghost', disabled: true, onclick: lap }, 'Lap')
  const list = h('ol', { class: 'list' })

  function render() {
    display.textContent = format(elapsed)
    startButton.textContent = timer ? 'Pause' : 'Start'
    lapButton.disabled = !timer
    list.replaceChildren(
      ...laps.map((t, i) => h('li', {}, h('span', {}, `Lap ${laps.length - i}`), h('code', {}, format(t)))),
    )
  }

  function toggle() {
    if (timer) {
      clearInterval(timer)
      timer = undefined
    } else {
      let last = Date.now()
      timer = setInterval(() => {
        const now = Date.now()
        elapsed += now - last
        last = now
        display.textContent = format(elapsed)
      }, 100)
    }
    render()
  }

  function lap() {
    laps = [elapsed, ...laps]
    render()
  }

  function reset() {
    clearInterval(timer)
    timer = undefined
    elapsed = 0
    laps = []
    render()
  }

  root.append(
    h(
      'section',
      { class: 'card', 'data-testid': 'timer' },
      h('h2', {}, 'Stopwatch'),
      display,
      h('div', { class: 'row' }, startButton, lapButton, h('button', { class: 'ghost', onclick: reset }, 'Reset')),
      list,
    ),
  )
}
