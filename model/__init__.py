"""Qt-free, database-free model layer of MURA Triage.

Everything the trainer and the app must agree on lives here: the network (DenseNet-169 with one
logit and its class activation map), the single preprocessing function, the checkpoint format and
the inference engine. Nothing in this package imports Qt or the worklist database.
"""

from model.study_types import OTHER, STUDY_TYPES

__all__ = ["OTHER", "STUDY_TYPES"]
