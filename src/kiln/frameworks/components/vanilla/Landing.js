import { h } from './dom.js'

const PROMPT = __KILN_PROMPT__

const STEPS = [
  'Describe a feature to add, e.g. "add a todo list" or "add a chart".',
  'Edit any file in the editor; the preview updates as you type.',
  'Deploy when it looks right.',
]

export function mountLanding(root) {
  root.append(
    h(
      'section',
      { class: 'card wide', 'data-testid': 'landing' },
      h('h2', {}, 'Your idea'),
      h('blockquote', {}, PROMPT),
      h('h2', {}, 'Next steps'),
      h('ul', { class: 'list' }, ...STEPS.map((step) => h('li', {}, h('span', {}, step)))),
    ),
  )
}
