"""FiNet, fashion inpainting: erase a garment region and fill it with compatible, diverse
garments (or a given one, for try-on); its config, inputs, networks, training, evaluation and CLI.

Imports: ``clothflow.core``, ``clothflow.data``, ``clothflow.models``, ``clothflow.training``
and ``clothflow.evaluation``; never ``clothflow.apps`` or ``clothflow.animate``.
"""
