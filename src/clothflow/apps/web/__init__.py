"""The web demo (``clothflow serve``): :mod:`.backend` does the work without the web,
:mod:`.app` is the Gradio page (the ``[web]`` extra, imported only when the page is built).

Imports: any package below ``clothflow.apps``, and the rest of ``clothflow.apps``.
"""
