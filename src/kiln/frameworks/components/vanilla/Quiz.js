import { h } from './dom.js'

const QUESTIONS = [
  { q: 'Which planet is known as the Red Planet?', options: ['Venus', 'Mars', 'Jupiter'], answer: 1 },
  { q: 'How many continents are there?', options: ['5', '6', '7'], answer: 2 },
  { q: 'What is the boiling point of water at sea level?', options: ['90 °C', '100 °C', '120 °C'], answer: 1 },
]

export function mountQuiz(root) {
  let index = 0
  let score = 0
  let picked = null
  const card = h('section', { class: 'card', 'data-testid': 'quiz' })

  function render() {
    const question = QUESTIONS[index]
    if (!question) {
      card.replaceChildren(
        h('h2', {}, 'Quiz complete'),
        h('p', { class: 'big' }, `${score} / ${QUESTIONS.length}`),
        h('button', { onclick: () => ((index = 0), (score = 0), (picked = null), render()) }, 'Play again'),
      )
      return
    }
    const options = question.options.map((option, i) =>
      h(
        'button',
        {
          class: picked !== null && i !== question.answer ? 'ghost' : '',
          disabled: picked !== null && i !== question.answer && i !== picked,
          onclick: () => {
            if (picked !== null) return
            picked = i
            if (i === question.answer) score += 1
            render()
          },
        },
        option,
      ),
    )
    const feedback =
      picked === null
        ? []
        : [
            h(
              'p',
              {},
              picked === question.answer ? '✅ Correct! ' : '❌ Not quite. ',
              h('button', { class: 'ghost', onclick: () => ((picked = null), (index += 1), render()) }, 'Next'),
            ),
          ]
    card.replaceChildren(
      h('h2', {}, `Question ${index + 1} of ${QUESTIONS.length}`),
      h('p', {}, question.q),
      h('div', { class: 'row' }, ...options),
      ...feedback,
      h('p', { class: 'muted' }, `Score: ${score}`),
    )
  }

  root.append(card)
  render()
}
