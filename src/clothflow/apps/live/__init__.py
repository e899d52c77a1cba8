"""The live page (``clothflow live``): a portrait animated by the webcam face, frame by frame.

:mod:`.session` does the work without the web (portraits prepared once, each camera stream's
state); :mod:`.server` is the FastAPI app: the page, the avatar-only page for OBS, portrait
uploads, and the WebSockets that carry JPEG frames (the ``[web]`` extra, imported only when the
app is built); :mod:`.cli` adds the subcommand; ``static/`` holds the plain HTML and JavaScript.

Imports: any package below ``clothflow.apps`` and :mod:`clothflow.apps.web.backend` (never the
Gradio page).
"""
