"""Training: the one loop (run folder, resume, budget, DDP), checkpoints, losses, objectives.

``settings`` holds every training setting, ``loop`` the loop ClothFlow and FiNet share,
``stages`` ClothFlow's stage-by-stage training (:func:`clothflow.training.stages.train`).

Imports: ``clothflow.core``, ``clothflow.data``, ``clothflow.models`` and the metrics of
``clothflow.evaluation``; never deploy or apps.
"""
