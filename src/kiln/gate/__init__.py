"""The build gate: every saved version is built and rendered before it counts as green.

queue.py    the `build` job: request, run, badge, one fix round on red
builder.py  where the build runs (the credential-less builder function on AWS)
build.py    install, type-check and `vite build` in the sandbox
render.py   open the built app in headless Chromium
"""
