import { useState } from 'react'

type Question = { q: string; options: string[]; answer: number }

const QUESTIONS: Question[] = [
  { q: 'Which planet is known as the Red Planet?', options: ['Venus', 'Mars', 'Jupiter'], answer: 1 },
  { q: 'How many continents are there?', options: ['5', '6', '7'], answer: 2 },
  { q: 'What is the boiling point of water at sea level?', options: ['90 °C', '100 °C', '120 °C'], answer: 1 },
]

export default function Quiz() {
  const [index, setIndex] = useState(0)
  const [score, setScore] = useState(0)
  const [picked, setPicked] = useState<number | null>(null)

  const finished = index >= QUESTIONS.length

  function choose(option: number) {
    if (picked !== null) return
    setPicked(option)
    if (option === QUESTIONS[index].answer) setScore(score + 1)
  }

  function next() {
    setPicked(null)
    setIndex(index + 1)
  }

  function restart() {
    setIndex(0)
    setScore(0)
    setPicked(null)
  }

  if (finished) {
    return (
      <section className="card" data-testid="quiz">
        <h2>Quiz complete</h2>
        <p className="big">
          {score} / {QUESTIONS.length}
        </p>
        <button onClick={restart}>Play again</button>
      </section>
    )
  }

  const question = QUESTIONS[index]
  return (
    <section className="card" data-testid="quiz">
      <h2>
        Question {index + 1} of {QUESTIONS.length}
      </h2>
      <p>{question.q}</p>
      <div className="row">
        {question.options.map((option, i) => (
          <button
            key={option}
            className={picked === null || i === question.answer ? '' : 'ghost'}
            onClick={() => choose(i)}
            disabled={picked !== null && i !== question.answer && i !== picked}
          >
            {option}
          </button>
        ))}
      </div>
      {picked !== null && (
        <p>
          {picked === question.answer ? '✅ Correct!' : '❌ Not quite.'}{' '}
          <button className="ghost" onClick={next}>
            Next
          </button>
        </p>
      )}
      <p className="muted">Score: {score}</p>
    </section>
  )
}
