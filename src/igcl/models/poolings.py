"""The graph encoder's pooling variants by name (see :mod:`igcl.models.graph_encoder` for each update rule).

A module of its own, free of torch, so that the config check (:class:`igcl.train.config.GraphSettings`, which
the workflow runs when it reads config.yaml) can name the valid values without loading the model code.
"""

POOLINGS = ("components", "rgcn_mean", "reaction_node")
