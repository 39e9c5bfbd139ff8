const PROMPT = __KILN_PROMPT__

const STEPS = [
  'Describe a feature to add, e.g. "add a todo list" or "add a chart".',
  'Edit any file in the editor; the preview updates as you type.',
  'Deploy when it looks right.',
]

export default function Landing() {
  return (
    <section className="card wide" data-testid="landing">
      <h2>Your idea</h2>
      <blockquote>{PROMPT}</blockquote>
      <h2>Next steps</h2>
      <ul className="list">
        {STEPS.map((step) => (
          <li key={step}>
            <span>{step}</span>
          </li>
        ))}
      </ul>
    </section>
  )
}
