"""What people run: the ``clothflow`` command line, the demo, inference from files, batch
inference, preparing a photo (pose and mask, the ``[pose]`` extra), and :mod:`.web`.

Imports: any other package; nothing imports ``clothflow.apps`` except ``clothflow.__main__``.
"""
